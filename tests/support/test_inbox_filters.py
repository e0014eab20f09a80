"""The inbox filters, parsed once for the desk page (lenient) and the desk API (strict)."""

import pytest
from django.http import QueryDict
from rest_framework.exceptions import ValidationError

from support.filters import inbox_filters_parse
from support.selectors.tickets import InboxFilters
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_page_and_api_read_a_valid_query_the_same_way():
    product = ProductFactory(slug="trail-stove")
    query = QueryDict(f"status=all&category=returns&sentiment=negative&urgency=high&assignee=me&product={product.pk}"
                      "&ai=failed&q=leak&mode=semantic&sort=urgency")

    page, api = inbox_filters_parse(query, strict=False), inbox_filters_parse(query, strict=True)

    assert page == api == InboxFilters(status="all", category="returns", sentiment="negative", urgency="high",
                                       assignee="me", product=str(product.pk), ai="failed", q="leak",
                                       mode="semantic", sort="urgency")


def test_a_product_is_named_by_slug_or_id():
    product = ProductFactory(slug="trail-stove")

    assert inbox_filters_parse({"product": "trail-stove"}, strict=True).product == str(product.pk)


def test_the_api_refuses_a_bad_value_naming_the_field():
    with pytest.raises(ValidationError) as error:
        inbox_filters_parse(QueryDict("status=open&sentiment=furious&sort=random"), strict=True)

    assert set(error.value.detail) == {"sentiment", "sort"}


def test_the_page_drops_bad_values_for_their_defaults_and_cuts_a_long_search():
    filters = inbox_filters_parse(QueryDict(f"status=lost&sentiment=furious&urgency=high&product=no-such&q={'x' * 500}"),
                                  strict=False)

    assert (filters.status, filters.sentiment, filters.urgency, filters.product) == ("open", "", "high", "")
    assert filters.q == "x" * 200 and filters.sort == "-activity"
