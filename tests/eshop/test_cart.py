from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from eshop.models import CartItem
from eshop.selectors.cart import cart_get
from eshop.services.cart import CartError, cart_item_add, cart_quantity_parse
from tests.factories import CartItemFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def _add(client, product, quantity="1", **extra):
    return client.post(reverse("cart-add"), {"product_id": product.pk, "quantity": quantity, **extra})


def _session_cart(client):
    return client.session.get("cart", {})


def test_anonymous_add_keeps_only_ids_and_quantities_in_the_session(client):
    product = ProductFactory(price="20.00")

    response = _add(client, product, "2")

    assert response.status_code == 302
    assert _session_cart(client) == {str(product.pk): 2}


def test_adding_twice_adds_up(client):
    product = ProductFactory()

    _add(client, product, "2")
    _add(client, product, "3")

    assert _session_cart(client) == {str(product.pk): 5}


@pytest.mark.parametrize(("quantity", "message"), [
    ("-1", "at least 1"),
    ("0", "at least 1"),
    ("100", "at most 99"),
    ("99999999999999999999999999", "at most 99"),
    ("abc", "whole number"),
    ("1.5", "whole number"),
    ("", "whole number"),
    ("1e3", "whole number"),
])
def test_bad_quantities_give_a_clear_message_and_change_nothing(client, quantity, message):
    product = ProductFactory(stock=500)

    response = _add(client, product, quantity)

    assert response.status_code == 302
    assert message in " ".join(str(m) for m in response.wsgi_request._messages)
    assert _session_cart(client) == {}


def test_quantity_above_stock_is_refused(client):
    product = ProductFactory(stock=3)
    _add(client, product, "2")

    response = _add(client, product, "2", next=reverse("product-detail", args=[product.slug]))

    assert response.url == reverse("product-detail", args=[product.slug])
    assert "Only 3" in " ".join(str(m) for m in response.wsgi_request._messages)
    assert _session_cart(client) == {str(product.pk): 2}


def test_out_of_stock_product_cannot_be_added(client):
    product = ProductFactory(stock=0)

    _add(client, product)

    assert _session_cart(client) == {}


def test_unknown_inactive_or_garbage_product_is_404(client):
    inactive = ProductFactory(is_active=False)

    assert client.post(reverse("cart-add"), {"product_id": 987654, "quantity": 1}).status_code == 404
    assert client.post(reverse("cart-add"), {"product_id": inactive.pk, "quantity": 1}).status_code == 404
    assert client.post(reverse("cart-add"), {"product_id": "<script>", "quantity": 1}).status_code == 404
    assert _session_cart(client) == {}


def test_redirect_after_add_never_leaves_the_site(client):
    product = ProductFactory(stock=1)

    response = _add(client, product, "5", next="https://evil.example/")

    assert response.url == reverse("cart")


def test_tampered_price_in_the_post_is_ignored(client):
    product = ProductFactory(price="80.00")

    _add(client, product, "1", price="0.01", unit_price="0.01")
    page = client.get(reverse("cart"))

    assert page.context["cart"].subtotal == Decimal("80.00")
    assert "0.01" not in page.content.decode()


def test_cart_page_shows_totals_with_standard_shipping(client):
    _add(client, ProductFactory(price="30.00"), "2")

    cart = client.get(reverse("cart")).context["cart"]

    assert cart.subtotal == Decimal("60.00")
    assert cart.standard_shipping == Decimal("6.95")
    assert cart.estimated_total == Decimal("66.95")


def test_standard_shipping_is_free_over_75(client):
    _add(client, ProductFactory(price="75.01"))

    cart = client.get(reverse("cart")).context["cart"]

    assert cart.standard_shipping == Decimal("0.00")
    assert "Free" in client.get(reverse("cart")).content.decode()


def test_empty_cart_page_says_so(client):
    page = client.get(reverse("cart")).content.decode()

    assert "Your cart is empty." in page
    assert "Check out" not in page


def test_nav_shows_cart_count(client):
    _add(client, ProductFactory(), "3")

    assert "Cart (3)" in client.get(reverse("home")).content.decode()


def test_update_and_remove(client):
    product = ProductFactory()
    _add(client, product, "1")

    client.post(reverse("cart-update"), {"product_id": product.pk, "quantity": "4"})
    assert _session_cart(client) == {str(product.pk): 4}

    client.post(reverse("cart-update"), {"product_id": product.pk, "quantity": "-3"})
    assert _session_cart(client) == {str(product.pk): 4}

    client.post(reverse("cart-remove"), {"product_id": product.pk})
    assert _session_cart(client) == {}


def test_signed_in_customer_uses_the_database_cart(customer_client, customer):
    product = ProductFactory()

    _add(customer_client, product, "2")

    assert CartItem.objects.get(cart__user=customer, product=product).quantity == 2
    assert _session_cart(customer_client) == {}


def test_session_cart_is_merged_into_the_user_cart_at_login(client):
    user = UserFactory(email="merge@example.com")
    both = ProductFactory(stock=5)
    only_session = ProductFactory()
    CartItemFactory(cart__user=user, product=both, quantity=2)
    _add(client, both, "4")
    _add(client, only_session, "1")

    client.post(reverse("login"), {"username": "merge@example.com", "password": "correct-horse-battery"})

    quantities = dict(CartItem.objects.filter(cart__user=user).values_list("product_id", "quantity"))
    assert quantities == {both.pk: 5, only_session.pk: 1}  # 2 + 4 capped at the stock of 5
    assert _session_cart(client) == {}


def test_cart_changes_need_csrf():
    strict = Client(enforce_csrf_checks=True)
    product = ProductFactory()

    response = strict.post(reverse("cart-add"), {"product_id": product.pk, "quantity": 1})

    assert response.status_code == 403


def test_cart_add_service_refuses_more_than_99_in_total():
    user = UserFactory()
    product = ProductFactory(stock=500)
    cart_item_add(user=user, session=None, product_id=product.pk, quantity=60)

    with pytest.raises(CartError, match="at most 99"):
        cart_item_add(user=user, session=None, product_id=product.pk, quantity=60)
    assert cart_get(user=user, session=None).item_count == 60


@pytest.mark.parametrize("value", [None, True, 2.5, "two", " 7 x"])
def test_quantity_parse_rejects_non_integers(value):
    with pytest.raises(CartError):
        cart_quantity_parse(value)


def test_quantity_parse_accepts_numbers_and_numeric_strings():
    assert cart_quantity_parse(" 7 ") == 7
    assert cart_quantity_parse(3) == 3
