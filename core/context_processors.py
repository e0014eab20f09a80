from django.conf import settings

from core.permissions import is_support_agent


def site(request):
    user = getattr(request, "user", None)
    return {
        "site_name": settings.SITE_NAME,
        "is_support_agent": is_support_agent(user),
    }
