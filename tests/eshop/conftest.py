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


# --- the demo catalog with embeddings (search, related products, browser walk) -----------------

_DEMO_VECTORS: dict[str, list[float]] = {}


@pytest.fixture
def demo_catalog(db):
    """The 200-product demo catalog with real MiniLM embeddings, as the embed queue would leave it.

    The vectors are computed once per test session in this process (about 3 s on 2 cores) and
    written to each test's fresh rows; search embeds its queries with the same real model.
    """
    from pathlib import Path

    from django.conf import settings

    from eshop.models import Product
    from eshop.services.catalog import catalog_import
    from eshop.services.embeddings import product_embedding_hash, product_embedding_text
    from llm.services.embed import embed_texts

    from unittest import mock

    from eshop.tasks import embed_product

    with mock.patch.object(embed_product, "delay"):  # the vectors are written below, no queue needed
        catalog_import(directory=Path(settings.DEMO_CATALOG_DIR))
    products = list(Product.objects.select_related("category"))
    texts = {product.pk: product_embedding_text(product=product) for product in products}
    missing = sorted({text for text in texts.values() if text not in _DEMO_VECTORS})
    if missing:
        for text, vector in zip(missing, embed_texts(texts=missing, batch_size=64), strict=True):
            _DEMO_VECTORS[text] = vector.tolist()
    for product in products:
        product.embedding = _DEMO_VECTORS[texts[product.pk]]
        product.embedding_hash = product_embedding_hash(text=texts[product.pk])
    Product.objects.bulk_update(products, ["embedding", "embedding_hash"])
    return products
