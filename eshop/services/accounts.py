"""Accounts: customers sign up themselves; agents and admins are made by admins (or the demo seed)."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction

from eshop.models import User


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str
    password: str


DEMO_LOGINS = (
    DemoLogin("customer", "customer@example.com", "trailhead-customer"),
    DemoLogin("support agent", "agent@example.com", "trailhead-agent"),
    DemoLogin("admin", "admin@example.com", "trailhead-admin"),
)


def support_agents_group() -> Group:
    group, _ = Group.objects.get_or_create(name=settings.SUPPORT_AGENTS_GROUP)
    return group


@transaction.atomic
def customer_create(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Create a customer account (no staff rights). The caller has validated the password."""
    return User.objects.create_user(email=email, password=password, first_name=first_name, last_name=last_name)


@transaction.atomic
def agent_create(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Create a support agent: staff (may sign in to staff pages) in the "Support agents" group."""
    user = User.objects.create_user(email=email, password=password, first_name=first_name, last_name=last_name, is_staff=True)
    user.groups.add(support_agents_group())
    return user


class DemoUsersRefused(Exception):
    """The demo users (published passwords) are not created in production."""


@transaction.atomic
def demo_users_ensure() -> list[DemoLogin]:
    """Create the demo customer, agent and admin if missing. Idempotent; never resets a password.
    Raises DemoUsersRefused with APP_ENV=production: their passwords are public."""
    if settings.IS_PRODUCTION:
        raise DemoUsersRefused("The demo users have published passwords and are not created with APP_ENV=production; "
                               "create an admin with `manage.py createsuperuser`.")
    makers = {
        "customer": lambda login: customer_create(email=login.email, password=login.password, first_name="Dana", last_name="Reyes"),
        "support agent": lambda login: agent_create(email=login.email, password=login.password, first_name="Sam", last_name="Okafor"),
        "admin": lambda login: User.objects.create_superuser(email=login.email, password=login.password, first_name="Alex", last_name="Admin"),
    }
    for login in DEMO_LOGINS:
        if not User.objects.filter(email=login.email).exists():
            makers[login.role](login)
    return list(DEMO_LOGINS)
