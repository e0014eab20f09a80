import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from eshop.models import Category, Product
from eshop.services.catalog import CatalogImportError, catalog_import

pytestmark = pytest.mark.django_db


def test_demo_catalog_imports_once():
    first = catalog_import(directory=Path(settings.DEMO_CATALOG_DIR))
    second = catalog_import(directory=Path(settings.DEMO_CATALOG_DIR))

    assert (first.categories_created, first.products_created) == (67, 200)
    assert (second.categories_created, second.products_created, second.products_updated) == (0, 0, 0)
    assert Product.objects.count() == 200 and Category.objects.count() == 67
    assert Product.objects.values("slug").distinct().count() == 200
    assert isinstance(Product.objects.first().price, Decimal)


def test_reimport_updates_changed_fields_and_keeps_stock(tmp_path):
    (tmp_path / "categories.json").write_text(json.dumps([{"id": 1, "name": "Lights"}]))
    row = {"id": 7, "category_id": 1, "brand": "Glow", "model": "L1", "description": "Lamp", "price": 10.5}
    (tmp_path / "products.json").write_text(json.dumps([row]))
    catalog_import(directory=tmp_path)
    Product.objects.filter(external_id=7).update(stock=3)

    (tmp_path / "products.json").write_text(json.dumps([{**row, "price": 12}]))
    result = catalog_import(directory=tmp_path)

    product = Product.objects.get(external_id=7)
    assert result.products_updated == 1
    assert product.price == Decimal("12.00")
    assert product.stock == 3


@pytest.mark.parametrize(
    ("products", "message"),
    [("not json", "not valid JSON"), (json.dumps([{"id": 1, "category_id": 99, "brand": "b", "model": "m", "description": "d", "price": 1}]), "bad field")],
)
def test_malformed_catalog_is_refused_and_writes_nothing(tmp_path, products, message):
    (tmp_path / "categories.json").write_text(json.dumps([{"id": 1, "name": "Lights"}]))
    (tmp_path / "products.json").write_text(products)

    with pytest.raises(CatalogImportError, match=message):
        catalog_import(directory=tmp_path)
    assert Category.objects.count() == 0


def test_missing_catalog_folder_is_a_clear_error(tmp_path):
    with pytest.raises(CatalogImportError, match="Catalog file missing"):
        catalog_import(directory=tmp_path / "nowhere")


def test_home_page_shows_products_and_an_empty_state(client):
    assert "The catalog is empty" in client.get("/").content.decode()

    catalog_import(directory=Path(settings.DEMO_CATALOG_DIR))
    page = client.get("/").content.decode()

    assert "Featured products" in page and "The catalog is empty" not in page
