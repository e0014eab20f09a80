from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.selectors import health_report


@never_cache
@require_GET
def healthz(request):
    """200 with every check when all is up, 503 naming what is down."""
    report = health_report()
    body = {"status": "ok" if report.ok else "down", "down": report.down, "checks": report.checks}
    return JsonResponse(body, status=200 if report.ok else 503)
