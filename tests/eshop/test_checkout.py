import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse

from eshop.models import Address, CartItem, Order, OrderStatus, Product
from eshop.services.orders import EmptyCartError, OrderError, OutOfStockError, ShippingAddress, order_place
from eshop.services.payments import CardDetails, PaymentDeclined, PaymentError, luhn_valid
from tests.eshop.conftest import DECLINED_CARD
from tests.factories import AddressFactory, CartItemFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

ADDRESS = ShippingAddress(full_name="Pat Walker", line1="12 Pine St", city="Boulder", region="CO", postal_code="80302", country="US")
CARD = CardDetails(number="4242424242424242", expiry_month=12, expiry_year=2039, cvc="123")


def _fill_cart(user, *, price="30.00", quantity=2, stock=10):
    product = ProductFactory(price=price, stock=stock)
    CartItemFactory(cart__user=user, product=product, quantity=quantity)
    return product


def test_checkout_needs_login(client):
    response = client.get(reverse("checkout"))

    assert response.status_code == 302
    assert reverse("login") in response.url


def test_placing_an_order_end_to_end(customer_client, customer, checkout_data, django_capture_on_commit_callbacks):
    product = _fill_cart(customer, price="30.00", quantity=2, stock=5)

    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post(reverse("checkout"), checkout_data)

    order = Order.objects.get(user=customer)
    assert response.status_code == 302
    assert response.url == reverse("order-confirmation", args=[order.number])
    assert order.subtotal == Decimal("60.00") and order.shipping_cost == Decimal("6.95") and order.total == Decimal("66.95")
    assert order.status == OrderStatus.PLACED
    assert (order.payment_brand, order.payment_last4) == ("Visa", "4242")
    assert [(line.product_id, line.quantity, line.unit_price) for line in order.lines.all()] == [(product.pk, 2, Decimal("30.00"))]
    assert list(order.events.values_list("status", flat=True)) == ["placed"]
    assert Product.objects.get(pk=product.pk).stock == 3
    assert not CartItem.objects.filter(cart__user=customer).exists()
    assert len(mail.outbox) == 1 and order.number in mail.outbox[0].subject
    assert mail.outbox[0].to == [customer.email]
    page = customer_client.get(response.url).content.decode()
    assert order.number in page and "Thank you" in page


def test_order_number_is_readable_and_the_card_number_is_not_stored(customer, checkout_data):
    _fill_cart(customer)

    order = order_place(user=customer, address=ADDRESS, shipping_method="standard", payment=CARD)

    assert order.number.startswith("TH-") and len(order.number) == 9 and order.number[3:].isdigit()
    stored = " ".join(str(value) for value in Order.objects.filter(pk=order.pk).values().first().values())
    assert "4242424242424242" not in stored


def test_price_is_taken_from_the_product_at_checkout_time(customer):
    product = _fill_cart(customer, price="30.00", quantity=1)
    Product.objects.filter(pk=product.pk).update(price=Decimal("45.50"))

    order = order_place(user=customer, address=ADDRESS, shipping_method="express", payment=CARD)

    assert order.lines.get().unit_price == Decimal("45.50")
    assert order.total == Decimal("45.50") + Decimal("14.95")


def test_tampered_price_fields_in_the_checkout_post_are_ignored(customer_client, customer, checkout_data):
    _fill_cart(customer, price="30.00", quantity=1)

    customer_client.post(reverse("checkout"), {**checkout_data, "price": "0.01", "total": "0.01", "subtotal": "0"})

    assert Order.objects.get().subtotal == Decimal("30.00")


def test_canada_ships_standard_at_19_95_and_refuses_express(customer):
    _fill_cart(customer, price="100.00", quantity=1)
    canada = ShippingAddress(full_name="Pat", line1="1 Rue", city="Montréal", region="QC", postal_code="H2X 1Y4", country="CA")

    with pytest.raises(OrderError, match="Express"):
        order_place(user=customer, address=canada, shipping_method="express", payment=CARD)
    order = order_place(user=customer, address=canada, shipping_method="standard", payment=CARD)

    assert order.shipping_cost == Decimal("19.95")


def test_empty_cart_at_checkout_is_refused(customer_client, customer, checkout_data):
    response = customer_client.post(reverse("checkout"), checkout_data)

    assert response.status_code == 302 and response.url == reverse("cart")
    assert "empty" in " ".join(str(m) for m in response.wsgi_request._messages)
    with pytest.raises(EmptyCartError):
        order_place(user=customer, address=ADDRESS, shipping_method="standard", payment=CARD)
    assert not Order.objects.exists()


def test_declined_card_places_no_order_and_keeps_the_cart(customer_client, customer, checkout_data):
    product = _fill_cart(customer, stock=5)

    response = customer_client.post(reverse("checkout"), {**checkout_data, "card_number": DECLINED_CARD})

    assert response.status_code == 400
    assert "declined" in response.content.decode()
    assert not Order.objects.exists()
    assert Product.objects.get(pk=product.pk).stock == 5
    assert CartItem.objects.filter(cart__user=customer).exists()


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"card_number": "4242 4242 4242 4241"}, "card_number", "not valid"),
    ({"card_number": "1234"}, "card_number", "13 to 19 digits"),
    ({"card_number": "abcd efgh ijkl mnop"}, "card_number", "13 to 19 digits"),
    ({"expiry": "01/20"}, "expiry", "expired"),
    ({"expiry": "13/30"}, "expiry", "MM/YY"),
    ({"expiry": "soon"}, "expiry", "MM/YY"),
    ({"cvc": "12"}, "cvc", "3 or 4 digits"),
    ({"cvc": "abc"}, "cvc", "3 or 4 digits"),
    ({"country": "FR"}, "country", "valid choice"),
    ({"shipping_method": "teleport"}, "shipping_method", "valid choice"),
    ({"line1": ""}, "line1", "required"),
])
def test_bad_checkout_input_is_shown_on_the_field_and_places_no_order(customer_client, customer, checkout_data, overrides, field, message):
    _fill_cart(customer)

    response = customer_client.post(reverse("checkout"), {**checkout_data, **overrides})

    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    assert not Order.objects.exists()


def test_card_number_is_never_echoed_back_in_the_page(customer_client, customer, checkout_data):
    _fill_cart(customer)

    response = customer_client.post(reverse("checkout"), {**checkout_data, "card_number": "4242 4242 4242 4241"})

    assert "4242 4242 4242 4241" not in response.content.decode()


def test_checkout_form_is_prefilled_from_the_saved_address(customer_client, customer):
    _fill_cart(customer)
    AddressFactory(user=customer, line1="77 Aspen Way", city="Denver")

    form = customer_client.get(reverse("checkout")).context["form"]

    assert form.initial["line1"] == "77 Aspen Way" and form.initial["city"] == "Denver"


def test_checkout_can_save_the_address(customer_client, customer, checkout_data):
    _fill_cart(customer)

    customer_client.post(reverse("checkout"), {**checkout_data, "save_address": "on"})

    assert Address.objects.get(user=customer).line1 == "12 Pine St"


def test_html_in_address_fields_is_shown_escaped(customer_client, customer, checkout_data):
    _fill_cart(customer)

    response = customer_client.post(reverse("checkout"), {**checkout_data, "full_name": "<script>alert(1)</script>"}, follow=True)

    page = response.content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_checkout_needs_csrf(customer, checkout_data):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(customer)
    _fill_cart(customer)

    response = strict.post(reverse("checkout"), checkout_data)

    assert response.status_code == 403
    assert not Order.objects.exists()


def test_not_enough_stock_is_refused_and_nothing_is_written(customer):
    product = _fill_cart(customer, quantity=3, stock=5)
    Product.objects.filter(pk=product.pk).update(stock=2)

    with pytest.raises(OutOfStockError, match="only 2 left"):
        order_place(user=customer, address=ADDRESS, shipping_method="standard", payment=CARD)

    assert not Order.objects.exists()
    assert Product.objects.get(pk=product.pk).stock == 2


def test_declined_card_raises_payment_declined(customer):
    _fill_cart(customer)

    with pytest.raises(PaymentDeclined):
        order_place(user=customer, address=ADDRESS, shipping_method="standard",
                    payment=CardDetails(number=DECLINED_CARD, expiry_month=12, expiry_year=2039, cvc="123"))


def test_blank_address_is_refused_by_the_service(customer):
    _fill_cart(customer)

    with pytest.raises(OrderError, match="street address"):
        order_place(user=customer, address=ShippingAddress(**{**ADDRESS.__dict__, "line1": "  "}), shipping_method="standard", payment=CARD)


def test_luhn_check():
    assert luhn_valid("4242424242424242") and luhn_valid("4000000000000002")
    assert not luhn_valid("4242424242424241") and not luhn_valid("42a2")


def test_card_details_repr_hides_the_number():
    assert "4242424242424242" not in repr(CARD)


def test_payment_error_carries_the_field():
    from eshop.services.payments import card_validate

    with pytest.raises(PaymentError) as info:
        card_validate(card=CardDetails(number="4242424242424242", expiry_month=1, expiry_year=2001, cvc="123"))
    assert info.value.field == "expiry"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_checkouts_of_the_last_item_never_both_succeed():
    product = ProductFactory(stock=1)
    buyers = [UserFactory(), UserFactory()]
    for buyer in buyers:
        CartItemFactory(cart__user=buyer, product=product, quantity=1)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def checkout(user):
        try:
            barrier.wait(timeout=10)
            order_place(user=user, address=ADDRESS, shipping_method="standard", payment=CARD)
            results.append("ok")
        except OutOfStockError:
            results.append("out of stock")
        except Exception as exc:  # surfaced by the assertion below
            results.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout, args=(buyer,)) for buyer in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == ["ok", "out of stock"]
    assert Product.objects.get(pk=product.pk).stock == 0
    assert Order.objects.count() == 1
