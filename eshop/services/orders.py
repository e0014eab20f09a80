"""Placing orders and moving them through their statuses."""

import re
import secrets
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string

from eshop.models import Address, Cart, Country, Order, OrderLine, OrderStatus, OrderStatusEvent, Product, User
from eshop.services.payments import CardDetails, payment_authorize
from eshop.shipping import ShippingError, shipping_cost


class OrderError(ValueError):
    """The order cannot be placed or changed; the message is safe to show to the customer."""


class EmptyCartError(OrderError):
    pass


class OutOfStockError(OrderError):
    pass


@dataclass(frozen=True)
class ShippingAddress:
    full_name: str
    line1: str
    city: str
    region: str
    postal_code: str
    country: str
    line2: str = ""

    @classmethod
    def from_address(cls, address: Address) -> "ShippingAddress":
        return cls(**{f.name: getattr(address, f.name) for f in fields(cls)})


_ADDRESS_LIMITS = {"full_name": 150, "line1": 200, "line2": 200, "city": 120, "region": 120, "postal_code": 20}
_ADDRESS_LABELS = {"full_name": "name", "line1": "street address", "line2": "second address line", "city": "city",
                   "region": "state or province", "postal_code": "postal code"}

# Which status may follow which; staff change statuses only along these edges.
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    OrderStatus.PLACED: {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.CANCELLED},
    OrderStatus.PAID: {OrderStatus.SHIPPED, OrderStatus.CANCELLED},
    OrderStatus.SHIPPED: {OrderStatus.DELIVERED, OrderStatus.RETURNED},
    OrderStatus.DELIVERED: {OrderStatus.RETURNED},
    OrderStatus.CANCELLED: set(),
    OrderStatus.RETURNED: set(),
}


def shipping_address_validate(*, address: ShippingAddress) -> ShippingAddress:
    """Stripped copy of the address, or OrderError naming the first missing or too long field."""
    cleaned = {}
    for name, limit in _ADDRESS_LIMITS.items():
        value = (getattr(address, name) or "").strip()
        if not value and name != "line2":
            raise OrderError(f"The shipping address needs a {_ADDRESS_LABELS[name]}.")
        if len(value) > limit:
            raise OrderError(f"The {_ADDRESS_LABELS[name]} of the shipping address is too long.")
        cleaned[name] = value
    if address.country not in Country.values:
        raise OrderError("We ship to the United States and Canada only.")
    return ShippingAddress(country=address.country, **cleaned)


# How an order number reads in free text (tickets, chat questions): the format order_number_generate makes.
ORDER_NUMBER_RE = re.compile(r"\bTH-\d{6}\b", re.IGNORECASE)


def order_number_generate() -> str:
    """A random, unused public number TH-100000..TH-999999 (random, so numbers reveal no order volume)."""
    while True:
        number = f"TH-{secrets.randbelow(900_000) + 100_000}"
        if not Order.objects.filter(number=number).exists():
            return number


def order_place(*, user: User, address: ShippingAddress, shipping_method: str, payment: CardDetails) -> Order:
    """Turn the user's cart into an order.

    Validates the address, shipping method and card first (OrderError / PaymentError, nothing written).
    Then, in one transaction: locks the cart and the products (select_for_update, ordered by id, so
    two checkouts never deadlock), refuses an empty cart (EmptyCartError) or a quantity above the
    stock (OutOfStockError), decrements stock with F(), creates the Order with its lines (prices
    copied from Product now) and the "placed" event, and empties the cart. The confirmation e-mail
    is sent after commit. The card number is not stored: only brand and last 4 digits.
    """
    address = shipping_address_validate(address=address)
    try:
        shipping_cost(subtotal=Decimal("0"), method=shipping_method, country=address.country)
    except ShippingError as exc:
        raise OrderError(str(exc)) from None
    if not Cart.objects.filter(user=user, items__product__is_active=True).exists():
        raise EmptyCartError("Your cart is empty.")
    authorization = payment_authorize(card=payment)

    with transaction.atomic():
        cart = Cart.objects.select_for_update().filter(user=user).first()
        items = list(cart.items.filter(product__is_active=True)) if cart else []
        if not items:
            raise EmptyCartError("Your cart is empty.")
        quantities = {item.product_id: item.quantity for item in items}
        products = list(Product.objects.select_for_update().filter(pk__in=quantities, is_active=True).order_by("id"))
        short = [p for p in products if p.stock < quantities[p.pk]]
        if short or len(products) != len(quantities):
            names = ", ".join(f"{p.name} (only {p.stock} left)" if p.stock else f"{p.name} (sold out)" for p in short)
            raise OutOfStockError(f"Not enough stock: {names or 'a product is no longer available'}. Please update your cart.")

        subtotal = sum((p.price * quantities[p.pk] for p in products), Decimal("0.00"))
        shipping = shipping_cost(subtotal=subtotal, method=shipping_method, country=address.country)
        order = Order.objects.create(
            number=order_number_generate(), user=user, status=OrderStatus.PLACED, shipping_method=shipping_method,
            ship_name=address.full_name, ship_line1=address.line1, ship_line2=address.line2, ship_city=address.city,
            ship_region=address.region, ship_postal_code=address.postal_code, ship_country=address.country,
            subtotal=subtotal, shipping_cost=shipping, total=subtotal + shipping,
            payment_brand=authorization.brand, payment_last4=authorization.last4,
        )
        OrderLine.objects.bulk_create([
            OrderLine(order=order, product=p, product_name=p.name, unit_price=p.price, quantity=quantities[p.pk]) for p in products
        ])
        for p in products:
            Product.objects.filter(pk=p.pk).update(stock=F("stock") - quantities[p.pk])
        OrderStatusEvent.objects.create(order=order, status=OrderStatus.PLACED, at=order.created_at, note="Order placed.")
        cart.items.all().delete()
        order_id = order.pk
        transaction.on_commit(lambda: order_confirmation_send(order_id=order_id))
    return order


def order_confirmation_send(*, order_id: int) -> None:
    """E-mail the order confirmation; a missing order (rolled back, deleted) is skipped."""
    order = Order.objects.filter(pk=order_id).select_related("user").prefetch_related("lines").first()
    if order is None:
        return
    context = {"order": order, "site_name": settings.SITE_NAME}
    send_mail(
        subject=f"Your {settings.SITE_NAME} order {order.number}",
        message=render_to_string("eshop/emails/order_confirmation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[order.user.email],
    )


def order_status_change(*, order: Order, status: str, note: str = "", tracking_number: str | None = None,
                        at: datetime | None = None) -> OrderStatusEvent:
    """Move an order to `status` and record the event (the customer's timeline).

    Only the moves in ALLOWED_TRANSITIONS are accepted (OrderError otherwise). A tracking number may be
    set with the change. Cancelling puts the items back in stock (not for generated demo orders, which
    never took stock). Locks the order row so two staff changes cannot interleave.
    """
    if status not in OrderStatus.values:
        raise OrderError(f"Unknown order status {status!r}.")
    if len(note) > 300:
        raise OrderError("The note is too long (300 characters at most).")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if status not in ALLOWED_TRANSITIONS[locked.status]:
            raise OrderError(f"An order that is {locked.get_status_display().lower()} cannot become {OrderStatus(status).label.lower()}.")
        update_fields = ["status", "updated_at"]
        locked.status = status
        if tracking_number is not None:
            locked.tracking_number = tracking_number.strip()[:64]
            update_fields.append("tracking_number")
        locked.save(update_fields=update_fields)
        if status == OrderStatus.CANCELLED and locked.demo_ref is None:
            for line in locked.lines.all():
                Product.objects.filter(pk=line.product_id).update(stock=F("stock") + line.quantity)
        event = OrderStatusEvent.objects.create(order=locked, status=status, note=note.strip(), **({"at": at} if at else {}))
    order.status, order.tracking_number = locked.status, locked.tracking_number
    return event
