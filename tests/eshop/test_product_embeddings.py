"""Product embeddings: computed by the embed queue when a product's text changes, idempotent by hash."""

import hashlib
from unittest import mock

import pytest

from eshop.models import Product
from eshop.services.catalog import catalog_import, category_update, product_create, product_update
from eshop.services.embeddings import product_embed, product_embedding_text
from eshop.tasks import embed_product
from tests.factories import CategoryFactory, ProductFactory
from tests.helpers import wait_for

pytestmark = pytest.mark.django_db


def test_product_embed_stores_a_normalized_vector_and_the_hash_of_its_text():
    product = ProductFactory(brand="GloTech", model="LumenX Headlamp", description="A bright rechargeable headlamp.")

    assert product_embed(product_id=product.pk) is True

    product.refresh_from_db()
    text = product_embedding_text(product=product)
    assert text == f"GloTech LumenX Headlamp. {product.category.name}. A bright rechargeable headlamp."
    assert product.embedding_hash == hashlib.sha256(text.encode()).hexdigest()
    assert len(product.embedding) == 384
    assert sum(x * x for x in product.embedding) == pytest.approx(1.0, abs=1e-3)


def test_product_embed_does_nothing_when_the_text_is_unchanged():
    product = ProductFactory()
    product_embed(product_id=product.pk)

    # A second run must not even load the model: the hash says the vector is current.
    with mock.patch("llm.services.embed.embed_texts", side_effect=AssertionError("model called")):
        assert product_embed(product_id=product.pk) is False


def test_product_embed_recomputes_after_the_description_changed():
    product = ProductFactory()
    product_embed(product_id=product.pk)
    old_hash = Product.objects.get(pk=product.pk).embedding_hash

    Product.objects.filter(pk=product.pk).update(description="A tent for two.")
    assert product_embed(product_id=product.pk) is True

    assert Product.objects.get(pk=product.pk).embedding_hash != old_hash


def test_embed_task_on_a_deleted_product_returns_early():
    product = ProductFactory()
    product_id = product.pk
    product.delete()

    with mock.patch("llm.services.embed.embed_texts", side_effect=AssertionError("model called")):
        assert embed_product(product_id) is False


def test_embed_task_is_routed_to_the_embed_queue():
    from config.celery import app

    route = app.amqp.router.route({}, "eshop.tasks.embed_product", args=(1,))
    assert route["queue"].name == "embed"
    assert embed_product.acks_late is True


def test_description_change_enqueues_embedding_on_commit(django_capture_on_commit_callbacks):
    product = ProductFactory()

    with mock.patch.object(embed_product, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            product_update(product=product, data={"description": "Now waterproof to 10 m."})
    assert len(callbacks) == 1
    delay.assert_called_once_with(product.pk)


def test_price_change_does_not_enqueue_embedding(django_capture_on_commit_callbacks):
    product = ProductFactory()

    with mock.patch.object(embed_product, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            product_update(product=product, data={"price": "12.00", "stock": 3})
    delay.assert_not_called()


def test_product_create_enqueues_embedding_only_after_commit(django_capture_on_commit_callbacks):
    category = CategoryFactory()

    with mock.patch.object(embed_product, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            product = product_create(category=category, brand="Trailco", model="Dome 2", description="A tent.", price="199.00")
        delay.assert_not_called()  # nothing is sent before the row is committed
        for callback in callbacks:
            callback()
    delay.assert_called_once_with(product.pk)


def test_category_rename_enqueues_its_products(django_capture_on_commit_callbacks):
    category = CategoryFactory()
    products = ProductFactory.create_batch(2, category=category)

    with mock.patch.object(embed_product, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            category_update(category=category, data={"name": "Headlamps"})
    assert sorted(call.args[0] for call in delay.call_args_list) == sorted(p.pk for p in products)


def test_catalog_import_enqueues_new_products_and_a_reimport_none(django_capture_on_commit_callbacks, settings):
    from pathlib import Path

    with mock.patch.object(embed_product, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            catalog_import(directory=Path(settings.DEMO_CATALOG_DIR))
        assert delay.call_count == Product.objects.count() == 200
        delay.reset_mock()
        with django_capture_on_commit_callbacks(execute=True):
            catalog_import(directory=Path(settings.DEMO_CATALOG_DIR))
    delay.assert_not_called()


def test_admin_save_of_a_changed_description_enqueues_embedding(admin_client, django_capture_on_commit_callbacks):
    product = ProductFactory()
    form = {"category": product.category.pk, "brand": product.brand, "model": product.model, "slug": product.slug,
            "description": "Changed in admin.", "price": "49.99", "stock": 10, "is_active": "on"}

    with mock.patch.object(embed_product, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(f"/admin/eshop/product/{product.pk}/change/", form)
    assert response.status_code == 302
    delay.assert_called_once_with(product.pk)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_embeds_a_new_product(celery_worker_process):
    category = CategoryFactory()

    product = product_create(category=category, brand="AquaNest", model="AquaBottle Pro",
                             description="Insulated bottle that keeps drinks cold for 24 hours.", price="29.00")

    wait_for(lambda: Product.objects.filter(pk=product.pk, embedding__isnull=False).exists(), timeout=60)
    assert len(Product.objects.get(pk=product.pk).embedding_hash) == 64


def test_seed_demo_enqueues_products_without_embedding(capsys, django_capture_on_commit_callbacks):
    from django.core.management import call_command

    with mock.patch.object(embed_product, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            call_command("seed_demo")
    assert "product embeddings: 200 enqueued" in capsys.readouterr().out
    assert {call.args[0] for call in delay.call_args_list} == set(Product.objects.values_list("pk", flat=True))


def test_embed_products_command_fills_missing_and_stale_then_nothing(capsys):
    from django.core.management import call_command

    fresh, stale = ProductFactory.create_batch(2)
    product_embed(product_id=stale.pk)
    Product.objects.filter(pk=stale.pk).update(model="Renamed")

    call_command("embed_products")
    assert "2 written" in capsys.readouterr().out
    assert not Product.objects.filter(embedding__isnull=True).exists()

    call_command("embed_products")
    assert "0 written" in capsys.readouterr().out
