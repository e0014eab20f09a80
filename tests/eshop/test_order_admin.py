import pytest

from eshop.models import OrderLine
from tests.factories import OrderFactory, UserFactory
from tests.support.factories import TicketFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/eshop/order/"


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_order_list_shows_items_and_tickets_in_a_fixed_number_of_queries(admin_client, django_assert_max_num_queries):
    orders = [OrderFactory(user=UserFactory()) for _ in range(30)]
    OrderLine.objects.filter(order=orders[0]).update(quantity=3)
    TicketFactory.create_batch(2, order=orders[0])

    with django_assert_max_num_queries(12):
        response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    rows = response.context["cl"].result_list
    assert len(rows) == 30
    first = next(row for row in rows if row.pk == orders[0].pk)
    assert (first.item_total, first.ticket_total) == (3, 2)


def test_orders_can_be_found_by_product_name_and_ship_name(admin_client):
    order = OrderFactory(ship_name="Robin Trail")
    OrderFactory(ship_name="Someone Else")
    order.lines.update(product_name="Arctic Dream sleeping bag")

    found = admin_client.get(CHANGELIST, {"q": "arctic dream"}).context["cl"].result_list
    assert [o.pk for o in found] == [order.pk]
    assert [o.pk for o in admin_client.get(CHANGELIST, {"q": "Robin"}).context["cl"].result_list] == [order.pk]


def test_orders_can_be_filtered_and_sorted_by_item_count(admin_client):
    OrderFactory(status="shipped")
    OrderFactory(status="placed")

    response = admin_client.get(CHANGELIST, {"status__exact": "shipped", "o": "5"})

    assert [o.status for o in response.context["cl"].result_list] == ["shipped"]
