import pytest

from tests.factories import UserFactory

GOOD_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"


@pytest.fixture
def customer(db):
    return UserFactory(email="walker@example.com", first_name="Pat", last_name="Walker")


@pytest.fixture
def customer_client(client, customer):
    client.force_login(customer)
    return client


@pytest.fixture
def checkout_data():
    """A valid checkout form POST (US address, standard shipping, a card that is accepted)."""
    return {
        "full_name": "Pat Walker", "line1": "12 Pine St", "line2": "", "city": "Boulder", "region": "CO",
        "postal_code": "80302", "country": "US", "shipping_method": "standard",
        "card_number": GOOD_CARD, "expiry": "12/39", "cvc": "123",
    }
