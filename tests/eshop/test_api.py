from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from eshop.models import CartItem, Category, Order, Product
from tests.factories import AddressFactory, CartItemFactory, CategoryFactory, OrderFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

PAYMENT = {"card_number": "4242424242424242", "expiry_month": 12, "expiry_year": 2039, "cvc": "123"}
ADDRESS = {"full_name": "Pat Walker", "line1": "12 Pine St", "city": "Boulder", "region": "CO", "postal_code": "80302", "country": "US"}


@pytest.fixture
def api(customer):
    client = APIClient()
    client.force_authenticate(customer)
    return client


@pytest.fixture
def staff_api(db):
    """A catalog manager: staff with the catalog model permissions (staff alone may not write, see tests/security)."""
    from django.contrib.auth.models import Permission

    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="eshop", codename__in=["add_product", "change_product", "add_category", "change_category"]))
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_cart_api_needs_authentication():
    assert APIClient().get(reverse("api-cart")).status_code in (401, 403)


def test_cart_add_get_update_remove(api, customer):
    product = ProductFactory(price="25.00", stock=5)

    added = api.post(reverse("api-cart-item-add"), {"product_id": product.pk, "quantity": 2, "price": "0.01"}, format="json")
    assert added.status_code == 201
    assert added.json()["subtotal"] == "50.00"

    updated = api.patch(reverse("api-cart-item-update", args=[product.pk]), {"quantity": 3}, format="json")
    assert updated.status_code == 200 and updated.json()["item_count"] == 3

    got = api.get(reverse("api-cart")).json()
    assert got["lines"][0]["unit_price"] == "25.00" and got["standard_shipping"] == "6.95"  # $75.00 is not over $75

    removed = api.delete(reverse("api-cart-item-remove", args=[product.pk]))
    assert removed.status_code == 200 and removed.json()["lines"] == []


@pytest.mark.parametrize("quantity", [-1, 0, 100, 10**30, "abc", 1.5, None])
def test_cart_add_rejects_bad_quantities(api, customer, quantity):
    product = ProductFactory(stock=500)

    response = api.post(reverse("api-cart-item-add"), {"product_id": product.pk, "quantity": quantity}, format="json")

    assert response.status_code == 400
    assert not CartItem.objects.exists()


def test_cart_add_above_stock_is_400_with_a_message(api):
    product = ProductFactory(stock=2)

    response = api.post(reverse("api-cart-item-add"), {"product_id": product.pk, "quantity": 3}, format="json")

    assert response.status_code == 400 and "Only 2" in response.json()["detail"]


def test_cart_add_unknown_or_inactive_product_is_404(api):
    inactive = ProductFactory(is_active=False)

    assert api.post(reverse("api-cart-item-add"), {"product_id": 424242, "quantity": 1}, format="json").status_code == 404
    assert api.post(reverse("api-cart-item-add"), {"product_id": inactive.pk, "quantity": 1}, format="json").status_code == 404


def test_checkout_api_places_an_order_at_server_prices(api, customer):
    product = ProductFactory(price="30.00", stock=3)
    CartItemFactory(cart__user=customer, product=product, quantity=2)

    response = api.post(reverse("api-checkout"), {"address": ADDRESS, "shipping_method": "standard", "payment": PAYMENT,
                                                  "total": "0.01"}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"].startswith("TH-") and body["total"] == "66.95"
    assert body["payment_last4"] == "4242" and "card_number" not in str(body)
    assert Product.objects.get(pk=product.pk).stock == 1


def test_checkout_api_with_a_saved_address_and_another_customers_address(api, customer):
    CartItemFactory(cart__user=customer, product=ProductFactory())
    mine = AddressFactory(user=customer)
    theirs = AddressFactory()

    other = api.post(reverse("api-checkout"), {"address_id": theirs.pk, "shipping_method": "standard", "payment": PAYMENT}, format="json")
    ok = api.post(reverse("api-checkout"), {"address_id": mine.pk, "shipping_method": "standard", "payment": PAYMENT}, format="json")

    assert other.status_code == 404
    assert ok.status_code == 201 and ok.json()["shipping_address"]["line1"] == mine.line1


@pytest.mark.parametrize(("payment", "code"), [
    ({**PAYMENT, "card_number": "4000000000000002"}, 402),
    ({**PAYMENT, "card_number": "4242424242424241"}, 400),
    ({**PAYMENT, "expiry_year": 2020}, 400),
    ({**PAYMENT, "cvc": "1"}, 400),
])
def test_checkout_api_refuses_bad_cards(api, customer, payment, code):
    CartItemFactory(cart__user=customer, product=ProductFactory())

    response = api.post(reverse("api-checkout"), {"address": ADDRESS, "shipping_method": "standard", "payment": payment}, format="json")

    assert response.status_code == code
    assert not Order.objects.exists()


def test_checkout_api_with_an_empty_cart_is_400(api):
    response = api.post(reverse("api-checkout"), {"address": ADDRESS, "shipping_method": "standard", "payment": PAYMENT}, format="json")

    assert response.status_code == 400 and "empty" in response.json()["detail"]


def test_checkout_api_with_too_little_stock_is_409(api, customer):
    product = ProductFactory(stock=1)
    CartItemFactory(cart__user=customer, product=product, quantity=1)
    Product.objects.filter(pk=product.pk).update(stock=0)

    response = api.post(reverse("api-checkout"), {"address": ADDRESS, "shipping_method": "standard", "payment": PAYMENT}, format="json")

    assert response.status_code == 409


def test_session_authenticated_api_writes_need_csrf(customer):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(customer)
    product = ProductFactory()

    response = client.post(reverse("api-cart-item-add"), {"product_id": product.pk, "quantity": 1}, format="json")

    assert response.status_code == 403


def test_orders_api_lists_and_shows_only_my_orders(api, customer):
    mine = OrderFactory(user=customer)
    theirs = OrderFactory()

    listed = api.get(reverse("api-order-list")).json()
    assert [o["number"] for o in listed["results"]] == [mine.number]

    detail = api.get(reverse("api-order-detail", args=[mine.number]))
    assert detail.status_code == 200 and detail.json()["events"][0]["status"] == "placed"
    assert api.get(reverse("api-order-detail", args=[theirs.number])).status_code == 404


def test_staff_create_and_update_products_and_categories(staff_api):
    category = staff_api.post(reverse("api-category-create"), {"name": "Stoves"}, format="json")
    assert category.status_code == 201 and category.json()["slug"] == "stoves"

    product = staff_api.post(reverse("api-product-create"), {
        "category": "stoves", "brand": "Ember", "model": "Mini", "description": "A small stove.", "price": "39.90", "stock": 4,
    }, format="json")
    assert product.status_code == 201, product.json()
    slug = product.json()["slug"]

    updated = staff_api.patch(reverse("api-product-update", args=[slug]), {"price": "35.00"}, format="json")
    assert updated.status_code == 200 and Product.objects.get(slug=slug).price == Decimal("35.00")

    renamed = staff_api.patch(reverse("api-category-update", args=["stoves"]), {"name": "Camp stoves"}, format="json")
    assert renamed.status_code == 200 and Category.objects.get(slug="stoves").name == "Camp stoves"


def test_staff_product_writes_refuse_bad_values(staff_api):
    CategoryFactory(slug="tents")
    ProductFactory(slug="taken")

    negative = staff_api.post(reverse("api-product-create"), {"category": "tents", "brand": "A", "model": "B", "description": "x",
                                                              "price": "-1.00"}, format="json")
    duplicate = staff_api.post(reverse("api-product-create"), {"category": "tents", "brand": "A", "model": "B", "description": "x",
                                                               "price": "1.00", "slug": "taken"}, format="json")

    assert negative.status_code == 400 and duplicate.status_code == 400


def test_customers_cannot_write_the_catalog(api):
    CategoryFactory(slug="tents")

    assert api.post(reverse("api-category-create"), {"name": "Hack"}, format="json").status_code == 403
    assert api.post(reverse("api-product-create"), {"category": "tents", "brand": "A", "model": "B", "description": "x",
                                                    "price": "1.00"}, format="json").status_code == 403


def test_the_catalog_api_shows_each_product_by_slug_and_id(api):
    product = ProductFactory(slug="trail-stove")

    listed = api.get(reverse("api-product-list")).json()["results"]
    detail = api.get(reverse("api-product-detail", args=["trail-stove"])).json()

    assert [(p["id"], p["slug"]) for p in listed] == [(product.pk, "trail-stove")]
    assert (detail["id"], detail["slug"]) == (product.pk, "trail-stove")
