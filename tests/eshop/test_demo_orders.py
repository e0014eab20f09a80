import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from eshop.models import Address, Order, OrderStatus, Product, User
from eshop.services.demo_orders import DEMO_ORDERS_FILE, DemoOrdersError, demo_orders_ensure
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def _write(tmp_path, data):
    path = tmp_path / "demo_orders.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def demo_file(tmp_path):
    ProductFactory(external_id=101, price="40.00", stock=4)
    ProductFactory(external_id=102, price="12.50", stock=9)
    return _write(tmp_path, {
        "customers": [{"email": "ann@example.com", "first_name": "Ann", "last_name": "Lee",
                       "address": {"line1": "1 Elm St", "line2": "", "city": "Reno", "region": "NV", "postal_code": "89501", "country": "US"}}],
        "orders": [
            {"ref": "X1", "customer_email": "ann@example.com", "placed_days_ago": 40, "status": "delivered",
             "items": [{"product_id": 101, "quantity": 2}, {"product_id": 102, "quantity": 1}],
             "tracking_number": "1ZTEST", "shipping_method": "standard"},
            {"ref": "X2", "customer_email": "ann@example.com", "placed_days_ago": 1, "status": "cancelled",
             "items": [{"product_id": 102, "quantity": 1}], "tracking_number": None, "shipping_method": "express"},
        ],
    })


def test_demo_orders_create_customers_orders_and_timelines_without_touching_stock(demo_file):
    result = demo_orders_ensure(path=demo_file)

    assert (result.customers_created, result.orders_created) == (1, 2)
    ann = User.objects.get(email="ann@example.com")
    assert ann.check_password("trailhead-customer")
    assert Address.objects.get(user=ann).city == "Reno"
    delivered = Order.objects.get(demo_ref="X1")
    assert delivered.status == OrderStatus.DELIVERED and delivered.tracking_number == "1ZTEST"
    assert str(delivered.total) == "92.50" and str(delivered.shipping_cost) == "0.00"
    assert list(delivered.events.values_list("status", flat=True)) == ["placed", "paid", "shipped", "delivered"]
    assert delivered.created_at < timezone.now() - timedelta(days=39)
    assert all(event.at <= timezone.now() for event in delivered.events.all())
    assert list(Order.objects.get(demo_ref="X2").events.values_list("status", flat=True)) == ["placed", "cancelled"]
    assert sorted(Product.objects.values_list("stock", flat=True)) == [4, 9]


def test_demo_orders_are_idempotent(demo_file):
    demo_orders_ensure(path=demo_file)

    again = demo_orders_ensure(path=demo_file)

    assert (again.customers_created, again.orders_created, again.orders_skipped) == (0, 0, 2)
    assert Order.objects.count() == 2


def test_demo_order_naming_an_unknown_product_is_left_out(tmp_path):
    path = _write(tmp_path, {"customers": [{"email": "bo@example.com", "first_name": "Bo", "last_name": "",
                                            "address": {"line1": "1", "city": "X", "region": "Y", "postal_code": "1", "country": "US"}}],
                             "orders": [{"ref": "Z", "customer_email": "bo@example.com", "placed_days_ago": 3, "status": "placed",
                                         "items": [{"product_id": 999, "quantity": 1}], "shipping_method": "standard"}]})

    result = demo_orders_ensure(path=path)

    assert result.orders_without_products == 1 and not Order.objects.exists()


def test_missing_file_is_a_no_op_and_malformed_file_is_an_error(tmp_path):
    assert demo_orders_ensure(path=tmp_path / "absent.json").orders_created == 0
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DemoOrdersError):
        demo_orders_ensure(path=bad)


@pytest.mark.skipif(not DEMO_ORDERS_FILE.exists(), reason="demo_orders.json not written yet")
def test_seed_demo_loads_the_real_demo_orders(capsys, settings):
    call_command("seed_demo")

    out = capsys.readouterr().out
    assert "demo orders:" in out
    dana = User.objects.get(email="customer@example.com")
    statuses = set(Order.objects.filter(user=dana).values_list("status", flat=True))
    assert len(statuses) >= 4
    call_command("seed_demo")
    assert "0 added" in capsys.readouterr().out
