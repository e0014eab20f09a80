"""Who may do what: one module for pages (decorators, plain checks) and APIs (DRF permission classes).

The roles (README, Security):
- customers: signed-in users; their own orders, tickets and chats (selectors scope by owner).
- support agents: staff in the "Support agents" group (User.is_support_agent; superusers count):
  the desk, the agent assistant, the knowledge list; their knowledge uploads start unpublished.
- shop admins: superusers, or staff given the Django model permission for the thing:
  catalog writes need eshop.add_/change_product or _category; publishing knowledge needs
  support.change_knowledgedocument; analytics needs support.view_analytics_dashboard / ask_data.
Being staff alone grants nothing here: agents are staff too (issue 13: agents could change prices).
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

PUBLISH_KNOWLEDGE = "support.change_knowledgedocument"
VIEW_UNPUBLISHED_KNOWLEDGE = "support.view_knowledgedocument"


def is_support_agent(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_support_agent)


def is_shop_admin(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_superuser)


def has_perms(user, *perms: str) -> bool:
    """Django model permissions (superusers have them all); anonymous and inactive users have none."""
    return bool(user is not None and user.is_authenticated and user.has_perms(perms))


def can_publish_knowledge(user) -> bool:
    return has_perms(user, PUBLISH_KNOWLEDGE)


def can_read_unpublished_knowledge(user) -> bool:
    return is_support_agent(user) or has_perms(user, VIEW_UNPUBLISHED_KNOWLEDGE)


# --- pages ---------------------------------------------------------------------------------------

def agent_required(view):
    """Support agents only: anonymous visitors go to the sign-in page, everyone else gets 403."""
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_support_agent(request.user):
            raise PermissionDenied("Support agents only.")
        return view(request, *args, **kwargs)
    return wrapper


def require_perms(user, *perms: str) -> None:
    """Raise PermissionDenied (403) unless the user has every permission."""
    if not has_perms(user, *perms):
        raise PermissionDenied


# --- APIs ----------------------------------------------------------------------------------------

class IsSupportAgent(BasePermission):
    message = "Support agents only."

    def has_permission(self, request, view):
        return is_support_agent(request.user)


class IsShopAdmin(BasePermission):
    """Admins (superusers) only: support agents are staff too, but this is the admin's."""

    message = "Admins only."

    def has_permission(self, request, view):
        return is_shop_admin(request.user)


def model_permissions(*perms: str) -> type[BasePermission]:
    """A DRF permission class that requires these Django model permissions (e.g. "eshop.change_product")."""

    class HasModelPermissions(BasePermission):
        message = "You do not have permission to do this."

        def has_permission(self, request, view):
            return has_perms(request.user, *perms)

    HasModelPermissions.__name__ = "Has_" + "_".join(p.replace(".", "_") for p in perms)
    return HasModelPermissions
