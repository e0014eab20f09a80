"""Reads of a customer's orders."""

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet

from eshop.models import Order, OrderLine, User

ORDERS_PAGE_SIZE = 10


def order_list_for_user(*, user: User) -> QuerySet[Order]:
    return Order.objects.filter(user=user).prefetch_related("lines").order_by("-created_at", "-id")


def order_page_for_user(*, user: User, page: str | int | None) -> Page:
    return Paginator(order_list_for_user(user=user), ORDERS_PAGE_SIZE).get_page(page)


def order_get_for_user(*, user: User, number: str) -> Order | None:
    """The user's own order by public number; None for another customer's (callers answer 404)."""
    return (
        Order.objects.filter(user=user, number=number)
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("product")), "events")
        .first()
    )
