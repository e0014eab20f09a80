import pytest
from django.urls import reverse

from eshop.models import Address
from tests.factories import AddressFactory

pytestmark = pytest.mark.django_db

NEW = {"full_name": "Pat Walker", "line1": "9 Ridge Rd", "line2": "", "city": "Moab", "region": "UT", "postal_code": "84532", "country": "US"}


def test_profile_shows_email_read_only_and_saves_the_name(customer_client, customer):
    page = customer_client.get(reverse("profile")).content.decode()
    assert customer.email in page and "readonly" in page

    customer_client.post(reverse("profile"), {"first_name": "Robin", "last_name": "Hill", "email": "hijack@example.com"})

    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name, customer.email) == ("Robin", "Hill", "walker@example.com")


def test_account_pages_need_login(client):
    for name in ("profile", "address-list", "address-new"):
        assert reverse("login") in client.get(reverse(name)).url


def test_add_edit_delete_an_address(customer_client, customer):
    customer_client.post(reverse("address-new"), NEW)
    address = Address.objects.get(user=customer)

    customer_client.post(reverse("address-edit", args=[address.pk]), {**NEW, "city": "Ouray"})
    address.refresh_from_db()
    assert address.city == "Ouray"
    assert "Ouray" in customer_client.get(reverse("address-list")).content.decode()

    customer_client.post(reverse("address-delete", args=[address.pk]))
    assert not Address.objects.filter(user=customer).exists()


def test_bad_address_input_is_refused(customer_client, customer):
    response = customer_client.post(reverse("address-new"), {**NEW, "country": "FR", "line1": ""})

    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"country", "line1"}
    assert not Address.objects.exists()


def test_another_customers_address_is_404_and_untouched(customer_client):
    theirs = AddressFactory(city="Taos")

    assert customer_client.get(reverse("address-edit", args=[theirs.pk])).status_code == 404
    assert customer_client.post(reverse("address-edit", args=[theirs.pk]), {**NEW, "city": "Hacked"}).status_code == 404
    assert customer_client.post(reverse("address-delete", args=[theirs.pk])).status_code == 404
    assert "Taos" not in customer_client.get(reverse("address-list")).content.decode()
    theirs.refresh_from_db()
    assert theirs.city == "Taos"


def test_delete_needs_post(customer_client, customer):
    address = AddressFactory(user=customer)

    assert customer_client.get(reverse("address-delete", args=[address.pk])).status_code == 405
    assert Address.objects.filter(pk=address.pk).exists()


def test_html_in_an_address_is_shown_escaped(customer_client, customer):
    AddressFactory(user=customer, line1='<img src=x onerror="alert(1)">')

    page = customer_client.get(reverse("address-list")).content.decode()

    assert '<img src=x onerror="alert(1)">' not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
