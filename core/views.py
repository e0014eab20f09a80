import hmac

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.selectors import health_report


def _may_see_details(request) -> bool:
    """Staff, or a monitor sending "Authorization: Bearer <HEALTHZ_TOKEN>" (when the token is set)."""
    if request.user.is_authenticated and request.user.is_staff:
        return True
    token = settings.HEALTHZ_TOKEN
    sent = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


@never_cache
@require_GET
def healthz(request):
    """200 when all is up, 503 when not. The public gets the status only; staff or the token holder
    also get what is down and every check (hosts, versions, errors)."""
    report = health_report()
    body = {"status": "ok" if report.ok else "down"}
    if _may_see_details(request):
        body.update(down=report.down, checks=report.checks)
    return JsonResponse(body, status=200 if report.ok else 503)
