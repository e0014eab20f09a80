import pytest
from django.urls import reverse

from eshop.models import Order, OrderStatus, Product
from eshop.services.orders import OrderError, order_number_generate, order_status_change
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_my_orders_lists_only_my_orders(customer_client, customer):
    mine = OrderFactory(user=customer)
    theirs = OrderFactory()

    page = customer_client.get(reverse("order-list")).content.decode()

    assert mine.number in page and theirs.number not in page


def test_my_orders_is_paginated(customer_client, customer, django_assert_max_num_queries):
    for _ in range(12):
        OrderFactory(user=customer)

    with django_assert_max_num_queries(8):
        first = customer_client.get(reverse("order-list"))
    second = customer_client.get(reverse("order-list"), {"page": 2})

    assert len(first.context["orders"]) == 10 and len(second.context["orders"]) == 2


def test_my_orders_needs_login(client):
    assert reverse("login") in client.get(reverse("order-list")).url


def test_order_detail_shows_timeline_and_tracking(customer_client, customer):
    order = OrderFactory(user=customer)
    order_status_change(order=order, status=OrderStatus.SHIPPED, tracking_number="1Z999AA10123456784", note="Left the warehouse.")

    page = customer_client.get(reverse("order-detail", args=[order.number])).content.decode()

    assert "1Z999AA10123456784" in page
    assert page.index("Placed") < page.index("Shipped")
    assert "Left the warehouse." in page


def test_another_customers_order_number_is_404(customer_client):
    other = OrderFactory(user=UserFactory())

    assert customer_client.get(reverse("order-detail", args=[other.number])).status_code == 404
    assert customer_client.get(reverse("order-confirmation", args=[other.number])).status_code == 404
    assert customer_client.get(reverse("order-detail", args=["TH-000000"])).status_code == 404


def test_status_change_records_an_event_and_updates_the_order():
    order = OrderFactory()

    event = order_status_change(order=order, status=OrderStatus.PAID, note="Card charged.")

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert list(order.events.values_list("status", flat=True)) == ["placed", "paid"]
    assert event.note == "Card charged."


@pytest.mark.parametrize(("start", "target"), [
    (OrderStatus.DELIVERED, OrderStatus.PAID),
    (OrderStatus.CANCELLED, OrderStatus.SHIPPED),
    (OrderStatus.PLACED, OrderStatus.PLACED),
    (OrderStatus.PLACED, "lost"),
])
def test_impossible_status_changes_are_refused(start, target):
    order = OrderFactory(status=start)

    with pytest.raises(OrderError):
        order_status_change(order=order, status=target)
    assert Order.objects.get(pk=order.pk).status == start
    assert order.events.count() == 1


def test_cancelling_puts_the_items_back_in_stock():
    order = OrderFactory()
    line = order.lines.get()
    before = line.product.stock

    order_status_change(order=order, status=OrderStatus.CANCELLED)

    assert Product.objects.get(pk=line.product_id).stock == before + line.quantity


def test_order_numbers_are_random_not_sequential():
    numbers = {order_number_generate() for _ in range(50)}

    assert len(numbers) > 45
    assert all(n.startswith("TH-") and len(n) == 9 for n in numbers)


def test_admin_changes_status_through_the_service(admin_client):
    order = OrderFactory()
    url = reverse("admin:eshop_order_change", args=[order.pk])

    response = admin_client.post(url, {
        "tracking_number": "1Z123", "new_status": "shipped", "status_note": "Shipped with UPS.",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "1", "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "1000",
        "lines-0-id": order.lines.get().pk, "lines-0-order": order.pk,
        "events-TOTAL_FORMS": "1", "events-INITIAL_FORMS": "1", "events-MIN_NUM_FORMS": "0", "events-MAX_NUM_FORMS": "1000",
        "events-0-id": order.events.get().pk, "events-0-order": order.pk,
    })

    assert response.status_code == 302, response.content.decode()[:2000]
    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED and order.tracking_number == "1Z123"
    assert order.events.last().note == "Shipped with UPS."


def test_admin_refuses_an_impossible_status(admin_client):
    order = OrderFactory(status=OrderStatus.DELIVERED)

    response = admin_client.post(reverse("admin:eshop_order_changelist"), {
        "action": "mark_paid", "_selected_action": [order.pk],
    })

    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).status == OrderStatus.DELIVERED


def test_admin_order_list_and_search(admin_client):
    order = OrderFactory()

    response = admin_client.get(reverse("admin:eshop_order_changelist"), {"q": order.user.email})

    assert response.status_code == 200 and order.number in response.content.decode()
