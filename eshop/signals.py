"""Signal receivers stay thin: they call a service."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from eshop.services.cart import cart_merge_session_into_user


@receiver(user_logged_in, dispatch_uid="eshop_cart_merge_at_login")
def merge_cart_at_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        cart_merge_session_into_user(user=user, session=request.session)
