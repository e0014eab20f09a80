"""Reads of a customer's saved addresses."""

from django.db.models import QuerySet

from eshop.models import Address, User


def address_list_for_user(*, user: User) -> QuerySet[Address]:
    return Address.objects.filter(user=user)


def address_get_for_user(*, user: User, address_id: int) -> Address | None:
    return Address.objects.filter(user=user, pk=address_id).first()


def address_default_for_user(*, user: User) -> Address | None:
    """The most recently used or edited saved address, to prefill checkout."""
    return address_list_for_user(user=user).first()
