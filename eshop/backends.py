"""Authentication: the demo logins' passwords are printed in the README and by `make run`, so with
APP_ENV=production they never sign anyone in, whatever the database holds."""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from eshop.services.accounts import DEMO_LOGINS


class DemoPasswordsRefused(ModelBackend):
    """Django's ModelBackend (first in AUTHENTICATION_BACKENDS), except that in production a published
    demo password ends the sign-in (PermissionDenied stops Django's loop over the backends)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if settings.IS_PRODUCTION and password and any(password == login.password for login in DEMO_LOGINS):
            raise PermissionDenied("Published demo passwords are refused in production.")
        return super().authenticate(request, username=username, password=password, **kwargs)
