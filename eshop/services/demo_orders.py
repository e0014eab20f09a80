"""A believable order history for the demo customers (eshop/demo_data/demo_orders.json)."""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from core.seeding import demo_rows_new
from eshop.models import Address, Order, OrderLine, OrderStatus, OrderStatusEvent, Product, User
from eshop.services.accounts import customer_create
from eshop.shipping import ShippingError, shipping_cost

DEMO_ORDERS_FILE = Path(__file__).resolve().parent.parent / "demo_data" / "demo_orders.json"
DEMO_CUSTOMER_PASSWORD = "trailhead-customer"

# The statuses an order passes through to reach each final status, with the delay after the previous step.
_PATHS: dict[str, list[tuple[str, timedelta]]] = {
    OrderStatus.PLACED: [],
    OrderStatus.PAID: [(OrderStatus.PAID, timedelta(hours=2))],
    OrderStatus.SHIPPED: [(OrderStatus.PAID, timedelta(hours=2)), (OrderStatus.SHIPPED, timedelta(hours=20))],
    OrderStatus.DELIVERED: [(OrderStatus.PAID, timedelta(hours=2)), (OrderStatus.SHIPPED, timedelta(hours=20)),
                            (OrderStatus.DELIVERED, timedelta(days=3))],
    OrderStatus.CANCELLED: [(OrderStatus.CANCELLED, timedelta(hours=5))],
    OrderStatus.RETURNED: [(OrderStatus.PAID, timedelta(hours=2)), (OrderStatus.SHIPPED, timedelta(hours=20)),
                           (OrderStatus.DELIVERED, timedelta(days=3)), (OrderStatus.RETURNED, timedelta(days=9))],
}
_NOTES = {
    OrderStatus.PLACED: "Order placed.",
    OrderStatus.PAID: "Payment captured.",
    OrderStatus.SHIPPED: "Handed to the carrier.",
    OrderStatus.DELIVERED: "Delivered.",
    OrderStatus.CANCELLED: "Cancelled at the customer's request before shipping.",
    OrderStatus.RETURNED: "Return received and refunded.",
}
_CARDS = (("Visa", "4242"), ("Mastercard", "4444"), ("American Express", "0005"), ("Visa", "1881"))


class DemoOrdersError(ValueError):
    pass


@dataclass
class DemoOrdersResult:
    customers_created: int = 0
    orders_created: int = 0
    orders_skipped: int = 0
    orders_without_products: int = 0


def _demo_number(ref: str) -> str:
    """A stable number per demo ref, so support scripts can name the same order after every reseed."""
    digest = int(hashlib.sha256(f"demo-order:{ref}".encode()).hexdigest(), 16)
    number = f"TH-{100_000 + digest % 900_000}"
    while Order.objects.filter(number=number).exists():
        number = f"TH-{secrets.randbelow(900_000) + 100_000}"
    return number


def _customer_ensure(row: dict, result: DemoOrdersResult) -> User:
    user = User.objects.filter(email=row["email"].lower()).first()
    if user is None:
        user = customer_create(email=row["email"], password=DEMO_CUSTOMER_PASSWORD,
                               first_name=row.get("first_name", ""), last_name=row.get("last_name", ""))
        result.customers_created += 1
    address = row.get("address")
    if address and not Address.objects.filter(user=user).exists():
        Address.objects.create(user=user, full_name=f"{user.first_name} {user.last_name}".strip() or user.email,
                               **{key: address.get(key, "") or "" for key in ("line1", "line2", "city", "region", "postal_code", "country")})
    return user


def demo_orders_ensure(*, path: Path = DEMO_ORDERS_FILE) -> DemoOrdersResult:
    """Create the demo customers (password "trailhead-customer") and their orders from `path`.

    Idempotent: customers are matched by e-mail, orders by their demo `ref` (Order.demo_ref), so a
    second run adds nothing. Orders get past creation dates and a status timeline ending in their
    status. Stock is NOT decremented (the catalog's stock is the shop's current stock). An order
    naming a product that is not in the catalog is left out (counted). A missing file gives an empty
    result; a malformed one (or an unknown customer or status) raises DemoOrdersError.
    """
    result = DemoOrdersResult()
    if not path.exists():
        return result
    try:
        data = json.loads(path.read_text())
        customers, orders = data["customers"], data["orders"]
        new_orders, result.orders_skipped = demo_rows_new(orders, model=Order)
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DemoOrdersError(f"{path.name} is malformed: {exc}") from None
    external_ids = {item["product_id"] for order in orders for item in order.get("items", [])}
    products = {p.external_id: p for p in Product.objects.filter(external_id__in=external_ids)}
    rows_by_email = {row["email"].lower(): row for row in customers}
    now = timezone.now()

    with transaction.atomic():
        users = {email: _customer_ensure(row, result) for email, row in rows_by_email.items()}
        for index, ref, row in new_orders:
            user = users.get(row["customer_email"].lower())
            if user is None:
                raise DemoOrdersError(f"Demo order {ref}: unknown customer {row['customer_email']}")
            if any(item["product_id"] not in products for item in row["items"]):
                result.orders_without_products += 1  # e.g. seeded with a smaller catalog: leave that order out
                continue
            status = row["status"]
            if status not in _PATHS:
                raise DemoOrdersError(f"Demo order {ref}: unknown status {status!r}")
            address = rows_by_email[user.email]["address"]
            quantities = [(products[item["product_id"]], int(item["quantity"])) for item in row["items"]]
            subtotal = sum((product.price * quantity for product, quantity in quantities), Decimal("0.00"))
            method = row.get("shipping_method") or "standard"
            try:
                shipping = shipping_cost(subtotal=subtotal, method=method, country=address["country"])
            except ShippingError:
                method, shipping = "standard", shipping_cost(subtotal=subtotal, method="standard", country=address["country"])
            placed_at = now - timedelta(days=int(row["placed_days_ago"]), hours=3 + index % 5, minutes=7 * index % 60)
            brand, last4 = _CARDS[index % len(_CARDS)]
            order = Order.objects.create(
                number=_demo_number(ref), user=user, status=status, shipping_method=method,
                tracking_number=row.get("tracking_number") or "", demo_ref=ref,
                ship_name=f"{user.first_name} {user.last_name}".strip(), ship_line1=address["line1"],
                ship_line2=address.get("line2") or "", ship_city=address["city"], ship_region=address["region"],
                ship_postal_code=address["postal_code"], ship_country=address["country"],
                subtotal=subtotal, shipping_cost=shipping, total=subtotal + shipping,
                payment_brand=brand, payment_last4=last4, created_at=placed_at,
            )
            OrderLine.objects.bulk_create([
                OrderLine(order=order, product=product, product_name=product.name, unit_price=product.price, quantity=quantity)
                for product, quantity in quantities
            ])
            events, at = [OrderStatusEvent(order=order, status=OrderStatus.PLACED, at=placed_at, note=_NOTES[OrderStatus.PLACED])], placed_at
            for step, delay in _PATHS[status]:
                # Express orders move faster; and no event may lie in the future.
                at = min(at + (delay / 2 if method == "express" and step == OrderStatus.DELIVERED else delay), now - timedelta(minutes=30))
                note = _NOTES[step]
                if step == OrderStatus.SHIPPED and order.tracking_number:
                    note = f"Handed to the carrier, tracking number {order.tracking_number}."
                events.append(OrderStatusEvent(order=order, status=step, at=at, note=note))
            OrderStatusEvent.objects.bulk_create(events)
            result.orders_created += 1
    return result
