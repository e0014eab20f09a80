from django.db.models import Count, Q, QuerySet

from eshop.models import Category, Product


def product_list_featured(*, limit: int = 8) -> list[Product]:
    return list(Product.objects.filter(is_active=True, stock__gt=0).select_related("category").order_by("-price", "id")[:limit])


def category_list_with_counts() -> QuerySet[Category]:
    return Category.objects.annotate(product_count=Count("products", filter=Q(products__is_active=True))).filter(product_count__gt=0)
