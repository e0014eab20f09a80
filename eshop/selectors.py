from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.sessions.backends.base import SessionBase
from django.core.paginator import Page, Paginator
from django.db.models import Count, Prefetch, Q, QuerySet, Sum

from eshop.models import Address, Cart, CartItem, Category, Order, OrderLine, Product, User
from eshop.shipping import FREE_STANDARD_OVER, shipping_cost

CATEGORY_PAGE_SIZE = 12
ORDERS_PAGE_SIZE = 10
SESSION_CART_KEY = "cart"


def product_list_featured(*, limit: int = 8) -> list[Product]:
    return list(Product.objects.filter(is_active=True, stock__gt=0).select_related("category").order_by("-price", "id")[:limit])


def category_list_with_counts() -> QuerySet[Category]:
    return Category.objects.annotate(product_count=Count("products", filter=Q(products__is_active=True))).filter(product_count__gt=0)


def product_list_for_category(*, category: Category, page: str | int | None) -> Page:
    """One page (CATEGORY_PAGE_SIZE products) of a category's active products; a bad page number gives the nearest page."""
    products = Product.objects.filter(category=category, is_active=True).select_related("category").order_by("brand", "model", "id")
    return Paginator(products, CATEGORY_PAGE_SIZE).get_page(page)


def product_get_active(*, slug: str) -> Product | None:
    return Product.objects.filter(slug=slug, is_active=True).select_related("category").first()


def product_list_related(*, product: Product, limit: int = 4) -> list[Product]:
    """PLACEHOLDER: products of the same category for now.

    To be switched to the nearest products by embedding (pgvector CosineDistance) by the search work;
    callers rely only on the signature and on getting active products other than `product`.
    """
    return list(
        Product.objects.filter(category_id=product.category_id, is_active=True)
        .exclude(pk=product.pk).select_related("category").order_by("-stock", "id")[:limit]
    )


# --- cart -------------------------------------------------------------------------------------

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
        items = CartItem.objects.filter(cart__user=user, product__is_active=True).select_related("product__category")
        return CartSummary(lines=[CartLine(product=item.product, quantity=item.quantity) for item in items])
    quantities = session_cart_items(session=session) if session is not None else {}
    if not quantities:
        return CartSummary()
    products = Product.objects.filter(pk__in=quantities, is_active=True).select_related("category").order_by("brand", "model")
    return CartSummary(lines=[CartLine(product=product, quantity=quantities[product.pk]) for product in products])


def cart_item_count(*, user: User | None, session: SessionBase | None) -> int:
    """Number of items in the cart, for the "Cart (n)" link: one cheap query, or none for a session cart."""
    if user is not None and user.is_authenticated:
        return CartItem.objects.filter(cart__user=user, product__is_active=True).aggregate(n=Sum("quantity"))["n"] or 0
    return sum(session_cart_items(session=session).values()) if session is not None else 0


def cart_of_user(*, user: User) -> Cart | None:
    return Cart.objects.filter(user=user).first()


# --- orders -----------------------------------------------------------------------------------

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


# --- addresses --------------------------------------------------------------------------------

def address_list_for_user(*, user: User) -> QuerySet[Address]:
    return Address.objects.filter(user=user)


def address_get_for_user(*, user: User, address_id: int) -> Address | None:
    return Address.objects.filter(user=user, pk=address_id).first()


def address_default_for_user(*, user: User) -> Address | None:
    """The most recently used or edited saved address, to prefill checkout."""
    return address_list_for_user(user=user).first()
