from django.conf import settings


def site(request):
    user = getattr(request, "user", None)
    return {
        "site_name": settings.SITE_NAME,
        "is_support_agent": bool(user is not None and user.is_authenticated and user.is_support_agent),
    }
