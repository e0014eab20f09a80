"""The cart: a Cart row for a signed-in customer, the session for everybody else.

Only product ids and quantities are kept, never prices: prices are read from Product whenever the
cart is shown or ordered, so a tampered form cannot change what a customer pays.
"""

import re

from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction

from eshop.models import Cart, CartItem, Product, User
from eshop.selectors.cart import SESSION_CART_KEY, session_cart_items

MAX_QUANTITY = 99
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


class CartError(ValueError):
    """A cart change that was refused; the message is safe to show to the customer."""


class ProductUnavailable(CartError):
    """The product does not exist or is not for sale (pages and the API answer 404)."""


def cart_quantity_parse(value) -> int:
    """A quantity from a form or JSON as an int, or CartError with a message for the customer."""
    if isinstance(value, bool) or value is None:
        raise CartError("Quantity must be a whole number.")
    text = str(value).strip()
    if not _WHOLE_NUMBER.fullmatch(text):
        raise CartError("Quantity must be a whole number.")
    # Very long digit strings are "too many", without converting them (int() of huge strings is slow).
    quantity = int(text) if len(text) <= 12 else (-1 if text.startswith("-") else MAX_QUANTITY + 1)
    if quantity < 1:
        raise CartError("Quantity must be at least 1.")
    if quantity > MAX_QUANTITY:
        raise CartError(f"You can order at most {MAX_QUANTITY} of one product.")
    return quantity


def _product_for_sale(product_id) -> Product:
    try:
        product_id = int(product_id)
    except (TypeError, ValueError):
        raise ProductUnavailable("This product is not available.") from None
    product = Product.objects.filter(pk=product_id, is_active=True).first()
    if product is None:
        raise ProductUnavailable("This product is not available.")
    return product


def _check_stock(product: Product, quantity: int) -> None:
    if product.stock == 0:
        raise CartError(f"{product.name} is out of stock.")
    if quantity > product.stock:
        raise CartError(f"Only {product.stock} of {product.name} in stock.")


def _is_signed_in(user: User | None) -> bool:
    return user is not None and user.is_authenticated


def _current_quantity(*, user: User | None, session: SessionBase | None, product: Product) -> int:
    if _is_signed_in(user):
        item = CartItem.objects.filter(cart__user=user, product=product).first()
        return item.quantity if item else 0
    return session_cart_items(session=session).get(product.pk, 0)


def _store(*, user: User | None, session: SessionBase | None, product: Product, quantity: int) -> None:
    """Write `quantity` (0 removes) for `product` to the right cart."""
    if _is_signed_in(user):
        with transaction.atomic():
            cart, _ = Cart.objects.get_or_create(user=user)
            if quantity == 0:
                CartItem.objects.filter(cart=cart, product=product).delete()
            else:
                CartItem.objects.update_or_create(cart=cart, product=product, defaults={"quantity": quantity})
            cart.save(update_fields=["updated_at"])
        return
    items = session_cart_items(session=session)
    if quantity == 0:
        items.pop(product.pk, None)
    else:
        items[product.pk] = quantity
    session[SESSION_CART_KEY] = {str(pk): qty for pk, qty in items.items()}


def cart_item_add(*, user: User | None, session: SessionBase | None, product_id, quantity) -> int:
    """Add `quantity` of a product to the cart (on top of what is there); returns the new quantity.

    Raises ProductUnavailable for an unknown or inactive product, CartError for a quantity that is
    not 1..99 or more than the stock (counting what is already in the cart). Nothing changes on error.
    """
    product = _product_for_sale(product_id)
    quantity = cart_quantity_parse(quantity)
    new_quantity = _current_quantity(user=user, session=session, product=product) + quantity
    if new_quantity > MAX_QUANTITY:
        raise CartError(f"You can order at most {MAX_QUANTITY} of one product.")
    _check_stock(product, new_quantity)
    _store(user=user, session=session, product=product, quantity=new_quantity)
    return new_quantity


def cart_item_update(*, user: User | None, session: SessionBase | None, product_id, quantity) -> int:
    """Set the quantity of a product already in the cart (1..99, at most the stock). Errors as cart_item_add."""
    product = _product_for_sale(product_id)
    quantity = cart_quantity_parse(quantity)
    if _current_quantity(user=user, session=session, product=product) == 0:
        raise CartError(f"{product.name} is not in your cart.")
    _check_stock(product, quantity)
    _store(user=user, session=session, product=product, quantity=quantity)
    return quantity


def cart_item_remove(*, user: User | None, session: SessionBase | None, product_id) -> None:
    """Remove a product from the cart. Removing something not in the cart is a no-op; an unknown id is ProductUnavailable."""
    try:
        product = Product.objects.get(pk=int(product_id))
    except (TypeError, ValueError, Product.DoesNotExist):
        raise ProductUnavailable("This product is not available.") from None
    _store(user=user, session=session, product=product, quantity=0)


def cart_merge_session_into_user(*, user: User, session: SessionBase) -> int:
    """Move the anonymous session cart into the user's Cart at login; returns the number of products merged.

    Quantities add up, capped at 99 and at the stock; products no longer for sale are dropped.
    The session cart is emptied. Idempotent: a second call finds an empty session cart.
    """
    items = session_cart_items(session=session)
    if not items:
        return 0
    products = {p.pk: p for p in Product.objects.filter(pk__in=items, is_active=True, stock__gt=0)}
    merged = 0
    with transaction.atomic():
        cart, _ = Cart.objects.select_for_update().get_or_create(user=user)
        existing = {item.product_id: item for item in cart.items.all()}
        for product_id, quantity in items.items():
            product = products.get(product_id)
            if product is None:
                continue
            current = existing[product_id].quantity if product_id in existing else 0
            new_quantity = min(current + quantity, MAX_QUANTITY, product.stock)
            CartItem.objects.update_or_create(cart=cart, product=product, defaults={"quantity": new_quantity})
            merged += 1
    session.pop(SESSION_CART_KEY, None)
    return merged


def cart_clear(*, user: User) -> None:
    CartItem.objects.filter(cart__user=user).delete()
