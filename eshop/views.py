from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import LoginView
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from core.ratelimit import client_ip, rate_limit_exceeded
from eshop.forms import EmailAuthenticationForm, SignUpForm
from eshop.selectors import category_list_with_counts, product_list_featured
from eshop.services.accounts import customer_create


def home(request):
    return render(request, "eshop/home.html", {
        "featured_products": product_list_featured(limit=8),
        "categories": category_list_with_counts(),
    })


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        user = customer_create(email=data["email"], password=data["password1"], first_name=data["first_name"], last_name=data["last_name"])
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, "Welcome! Your account is ready.")
        return redirect("home")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


class RateLimitedLoginView(LoginView):
    """Django's login, with a limit on attempts per client IP and per e-mail address."""

    form_class = EmailAuthenticationForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        email = (request.POST.get("username") or "").strip().lower()[:254]
        limited = rate_limit_exceeded(key=f"login:ip:{client_ip(request)}", limit=settings.LOGIN_RATE_LIMIT, window_seconds=settings.LOGIN_RATE_WINDOW)
        if email:
            limited |= rate_limit_exceeded(key=f"login:email:{email}", limit=settings.LOGIN_RATE_LIMIT, window_seconds=settings.LOGIN_RATE_WINDOW)
        if limited:
            form = self.get_form()
            form.errors.clear()
            form.add_error(None, f"Too many sign-in attempts. Please wait {settings.LOGIN_RATE_WINDOW // 60} minutes and try again.")
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)
