"""Reads of the catalog: featured, category pages, a product, its neighbours, the best sellers."""

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q, QuerySet, Sum
from pgvector.django import CosineDistance

from eshop.models import Category, Product

CATEGORY_PAGE_SIZE = 12


def product_list_featured(*, limit: int = 8) -> list[Product]:
    return list(Product.objects.for_display().filter(is_active=True, stock__gt=0).select_related("category")
                .order_by("-price", "id")[:limit])


def category_list_with_counts() -> QuerySet[Category]:
    return Category.objects.annotate(product_count=Count("products", filter=Q(products__is_active=True))).filter(product_count__gt=0)


def product_list_for_category(*, category: Category, page: str | int | None) -> Page:
    """One page (CATEGORY_PAGE_SIZE products) of a category's active products; a bad page number gives the nearest page."""
    products = (Product.objects.for_display().filter(category=category, is_active=True).select_related("category")
                .order_by("brand", "model", "id"))
    return Paginator(products, CATEGORY_PAGE_SIZE).get_page(page)


def product_get_active(*, slug: str) -> Product | None:
    return Product.objects.filter(slug=slug, is_active=True).select_related("category").first()


def product_list_related(*, product: Product, limit: int = 4) -> list[Product]:
    """The active products nearest to `product` by embedding (pgvector cosine distance, HNSW index).

    Falls back to the same category while the product has no embedding yet (just created, the embed
    queue has not run). Never includes `product` itself.
    """
    others = Product.objects.for_display().filter(is_active=True).exclude(pk=product.pk).select_related("category")
    if product.embedding is not None:
        nearest = list(
            others.filter(embedding__isnull=False).order_by(CosineDistance("embedding", product.embedding), "id")[:limit]
        )
        if nearest:
            return nearest
    return list(others.filter(category_id=product.category_id).order_by("-stock", "id")[:limit])


def product_list_popular(*, limit: int = 4) -> list[Product]:
    """Best-selling active products in stock (most units ordered), for empty search results."""
    return list(
        Product.objects.for_display().filter(is_active=True, stock__gt=0).annotate(sold=Sum("order_lines__quantity"))
        .select_related("category").order_by(F("sold").desc(nulls_last=True), "-stock", "id")[:limit]
    )
