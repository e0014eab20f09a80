"""Reads of the cart: the signed-in user's Cart or the anonymous session cart, with server prices."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.sessions.backends.base import SessionBase
from django.db.models import Sum

from eshop.models import PRODUCT_UNSHOWN_FIELDS, Cart, CartItem, Product, User
from eshop.shipping import FREE_STANDARD_OVER, shipping_cost

SESSION_CART_KEY = "cart"


@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def line_total(self) -> Decimal:
        return self.product.price * self.quantity

    @property
    def exceeds_stock(self) -> bool:
        return self.quantity > self.product.stock


@dataclass(frozen=True)
class CartSummary:
    lines: list[CartLine] = field(default_factory=list)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def is_empty(self) -> bool:
        return not self.lines

    @property
    def subtotal(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal("0.00"))

    @property
    def standard_shipping(self) -> Decimal:
        """Standard US shipping, the estimate shown on the cart page (checkout prices the real choice)."""
        return shipping_cost(subtotal=self.subtotal, method="standard", country="US")

    @property
    def estimated_total(self) -> Decimal:
        return self.subtotal + self.standard_shipping

    @property
    def free_shipping_over(self) -> Decimal:
        return FREE_STANDARD_OVER

    @property
    def has_stock_problem(self) -> bool:
        return any(line.exceeds_stock for line in self.lines)


def session_cart_items(*, session: SessionBase) -> dict[int, int]:
    """The anonymous cart: {product id: quantity}; anything malformed in the session is dropped."""
    raw = session.get(SESSION_CART_KEY) or {}
    items: dict[int, int] = {}
    if isinstance(raw, dict):
        for key, value in raw.items():
            try:
                product_id, quantity = int(key), int(value)
            except (TypeError, ValueError):
                continue
            if quantity > 0:
                items[product_id] = quantity
    return items


def cart_get(*, user: User | None, session: SessionBase | None) -> CartSummary:
    """The current cart with server prices: the user's Cart when signed in, else the session cart.

    Inactive or deleted products are left out.
    """
    if user is not None and user.is_authenticated:
        items = (CartItem.objects.filter(cart__user=user, product__is_active=True).select_related("product__category")
                 .defer(*(f"product__{field}" for field in PRODUCT_UNSHOWN_FIELDS)))
        return CartSummary(lines=[CartLine(product=item.product, quantity=item.quantity) for item in items])
    quantities = session_cart_items(session=session) if session is not None else {}
    if not quantities:
        return CartSummary()
    products = (Product.objects.for_display().filter(pk__in=quantities, is_active=True).select_related("category")
                .order_by("brand", "model"))
    return CartSummary(lines=[CartLine(product=product, quantity=quantities[product.pk]) for product in products])


def cart_item_count(*, user: User | None, session: SessionBase | None) -> int:
    """Number of items in the cart, for the "Cart (n)" link: one cheap query, or none for a session cart."""
    if user is not None and user.is_authenticated:
        return CartItem.objects.filter(cart__user=user, product__is_active=True).aggregate(n=Sum("quantity"))["n"] or 0
    return sum(session_cart_items(session=session).values()) if session is not None else 0


def cart_of_user(*, user: User) -> Cart | None:
    return Cart.objects.filter(user=user).first()
