"""Sign-in pages of the shop and of the admin, with the same attempt limits (core.ratelimit)."""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.views import LoginView
from django.forms.utils import ErrorDict
from django.shortcuts import redirect
from django.urls import reverse

from core.ratelimit import login_attempt_limited
from eshop.forms import EmailAuthenticationForm


def _too_many_attempts(view, request):
    """The login page again with a limit message (429), without checking the password."""
    form = view.get_form_class()(request, data=request.POST)
    form._errors = ErrorDict()  # set, so that no full_clean() runs (it would try the password)
    form.cleaned_data = {}
    form.add_error(None, f"Too many sign-in attempts. Please wait {settings.LOGIN_RATE_WINDOW // 60} minutes and try again.")
    return view.render_to_response(view.get_context_data(form=form), status=429)


class LoginRateLimitMixin:
    """Sign-in attempts limited per client IP + account and per client IP (core.ratelimit)."""

    def post(self, request, *args, **kwargs):
        if login_attempt_limited(request, account=request.POST.get("username") or ""):
            return _too_many_attempts(self, request)
        return super().post(request, *args, **kwargs)


class RateLimitedLoginView(LoginRateLimitMixin, LoginView):
    """The shop's sign-in (e-mail and password)."""

    form_class = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        # LoginView puts the request's host ("127.0.0.1:8000") in site_name (no django.contrib.sites);
        # the page names the shop, like every other page.
        return {**super().get_context_data(**kwargs), "site_name": settings.SITE_NAME}


class RateLimitedAdminLoginView(LoginRateLimitMixin, LoginView):
    """The admin's sign-in with the same limits; everything else as admin.site.login."""

    form_class = AdminAuthenticationForm
    template_name = "admin/login.html"

    def dispatch(self, request, *args, **kwargs):
        if request.method == "GET" and request.user.is_active and request.user.is_staff:
            return redirect("admin:index")
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **admin.site.each_context(self.request), "title": "Log in",
                "subtitle": None, "app_path": self.request.get_full_path(), "username": self.request.user.get_username()}

    def get_success_url(self):
        return self.get_redirect_url() or reverse("admin:index")
