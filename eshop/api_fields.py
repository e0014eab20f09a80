"""How the API names a product: its slug (what the catalog API shows), or its id, which the chat and
knowledge APIs accepted first and still accept."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.ids import parse_id
from eshop.models import Product


@extend_schema_field(OpenApiTypes.STR)
class ProductRefField(serializers.RelatedField):
    """A product by slug ("trail-stove-2") or id (42 or "42"); shown as its slug.

    Bad input gets a clear 400: "No product with the slug or id 'x'."."""

    default_error_messages = {
        "does_not_exist": "No product with the slug or id {value!r}.",
        "incorrect_type": "A product is named by its slug (text) or its id (a number), not {data_type}.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The product's slug (as the catalog API shows it) or its id.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("incorrect_type", data_type=type(data).__name__)
        value = str(data).strip()
        product = product_for_ref(value, queryset=self.get_queryset())
        if product is None:
            self.fail("does_not_exist", value=value)
        return product

    def to_representation(self, value):
        return value.slug


def product_for_ref(ref: str | None, *, queryset=None) -> Product | None:
    """The product named by slug or id, or None when none is. All digits is an id (as before slugs
    were accepted); the catalog's slugs are made from names, never digits alone."""
    if not ref:
        return None
    queryset = Product.objects.all() if queryset is None else queryset
    ref = ref.strip()
    pk = parse_id(ref)
    return queryset.filter(**({"pk": pk} if pk is not None else {"slug": ref})).first()
