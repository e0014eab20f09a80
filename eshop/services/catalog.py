"""Importing the catalog (the demo catalog from shared/data/catalog, or a shop's own export)."""

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from eshop.models import Category, Product
from eshop.services.embeddings import EMBEDDING_SOURCE_FIELDS, product_embedding_schedule


class CatalogError(ValueError):
    """A catalog write was refused; the message says which field is wrong."""


class CatalogImportError(CatalogError):
    pass


@dataclass
class CatalogImportResult:
    categories_created: int = 0
    products_created: int = 0
    products_updated: int = 0


def _demo_stock(external_id: int) -> int:
    """Deterministic demo stock: a few items sold out, a few down to their last units."""
    if external_id % 23 == 0:
        return 0
    if external_id % 11 == 0:
        return 1 + external_id % 3
    return 5 + (external_id * 7) % 40


def _unique_slug(base: str, external_id: int, taken: set[str]) -> str:
    slug = slugify(base)[:200] or f"product-{external_id}"
    if slug in taken:
        slug = f"{slug}-{external_id}"
    taken.add(slug)
    return slug


def catalog_import(*, directory: Path) -> CatalogImportResult:
    """Create or update categories and products from categories.json and products.json.

    Idempotent: rows are matched by their catalog id (external_id), so a second import adds
    nothing and only rewrites fields that changed. Stock is set only on creation (a re-import
    never resets stock that orders consumed). Products created or whose text changed get their
    embedding (re)computed by the embed queue after commit. Raises CatalogImportError on a malformed file.
    """
    try:
        categories = json.loads((directory / "categories.json").read_text())
        products = json.loads((directory / "products.json").read_text())
    except FileNotFoundError as exc:
        raise CatalogImportError(f"Catalog file missing: {exc.filename}") from None
    except json.JSONDecodeError as exc:
        raise CatalogImportError(f"Catalog file is not valid JSON: {exc}") from None

    result = CatalogImportResult()
    to_embed: list[int] = []
    with transaction.atomic():
        by_external = {c.external_id: c for c in Category.objects.filter(external_id__isnull=False)}
        for row in categories:
            if row["id"] not in by_external:
                by_external[row["id"]] = Category.objects.create(
                    external_id=row["id"], name=row["name"], slug=slugify(row["name"]) or f"category-{row['id']}"
                )
                result.categories_created += 1

        existing = {p.external_id: p for p in Product.objects.filter(external_id__isnull=False)}
        taken_slugs = set(Product.objects.values_list("slug", flat=True))
        for row in products:
            try:
                price = Decimal(str(row["price"])).quantize(Decimal("0.01"))
                category = by_external[row["category_id"]]
            except (InvalidOperation, KeyError) as exc:
                raise CatalogImportError(f"Product {row.get('id')}: bad field {exc}") from None
            fields = {
                "category": category,
                "brand": row["brand"].strip(),
                "model": row["model"].strip(),
                "description": row["description"].strip(),
                "price": price,
            }
            product = existing.get(row["id"])
            if product is None:
                product = Product.objects.create(
                    external_id=row["id"],
                    slug=_unique_slug(f"{fields['brand']} {fields['model']}", row["id"], taken_slugs),
                    stock=_demo_stock(row["id"]),
                    **fields,
                )
                result.products_created += 1
                to_embed.append(product.pk)
                continue
            changed = [name for name, value in fields.items() if getattr(product, name) != value]
            if changed:
                for name in changed:
                    setattr(product, name, fields[name])
                product.save(update_fields=[*changed, "updated_at"])
                result.products_updated += 1
                if EMBEDDING_SOURCE_FIELDS.intersection(changed):
                    to_embed.append(product.pk)
        product_embedding_schedule(product_ids=to_embed)
    return result


PRODUCT_FIELDS = ("category", "brand", "model", "slug", "description", "price", "stock", "is_active")


def _full_clean(instance, *, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise CatalogError("; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())) from None


@transaction.atomic
def product_create(*, category: Category, brand: str, model: str, description: str, price: Decimal, stock: int = 0,
                   slug: str = "", is_active: bool = True) -> Product:
    """Create a product (staff API / a shop syncing its catalog). The slug defaults to brand + model.

    Raises CatalogError on invalid values (e.g. a slug already taken, a negative price).
    """
    if not slug:
        slug = _unique_slug(f"{brand} {model}", Product.objects.count() + 1, set(Product.objects.values_list("slug", flat=True)))
    product = Product(category=category, brand=brand.strip(), model=model.strip(), slug=slug, description=description.strip(),
                      price=price, stock=stock, is_active=is_active)
    _full_clean(product, exclude=["embedding", "embedding_hash"])
    product.save()
    product_embedding_schedule(product_ids=[product.pk])
    return product


@transaction.atomic
def product_update(*, product: Product, data: dict) -> Product:
    """Change the given fields (a subset of PRODUCT_FIELDS) of a product; CatalogError on invalid values."""
    unknown = set(data) - set(PRODUCT_FIELDS)
    if unknown:
        raise CatalogError(f"Unknown product fields: {', '.join(sorted(unknown))}")
    changed = [name for name, value in data.items() if getattr(product, name) != value]
    for name in changed:
        setattr(product, name, data[name])
    _full_clean(product, exclude=["embedding", "embedding_hash"])
    if changed:
        product.save(update_fields=[*changed, "updated_at"])
        if EMBEDDING_SOURCE_FIELDS.intersection(changed):
            product_embedding_schedule(product_ids=[product.pk])
    return product


@transaction.atomic
def category_create(*, name: str, slug: str = "") -> Category:
    category = Category(name=name.strip(), slug=slug or slugify(name))
    _full_clean(category)
    category.save()
    return category


@transaction.atomic
def category_update(*, category: Category, data: dict) -> Category:
    """Rename a category; its products' embeddings (which include the category name) are refreshed."""
    changed = [name for name in ("name", "slug") if name in data and getattr(category, name) != data[name]]
    for name in changed:
        setattr(category, name, data[name])
    _full_clean(category)
    if changed:
        category.save(update_fields=changed)
        if "name" in changed:
            product_embedding_schedule(product_ids=category.products.values_list("pk", flat=True))
    return category
