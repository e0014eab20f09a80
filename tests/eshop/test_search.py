"""Product search (meaning and words by weighted fusion, a relevance floor), its page and its API."""

from decimal import Decimal

import pytest

from eshop.models import Category, Product
from eshop.selectors.catalog import product_list_related
from eshop.selectors.search import product_search, product_search_ranked
from eshop.selectors.search_query import search_query_style, typo_corrections

pytestmark = pytest.mark.django_db

DRINKS_COLD = "something to keep my drinks cold on a hike"


def _is_for_cold_drinks(product: Product) -> bool:
    """Insulated bottles, coolers and hydration gear of the demo catalog (it has no cooler box)."""
    text = f"{product.category.name} {product.model} {product.description}".lower()
    return any(word in text for word in ("hydration", "insulated", "bottle", "cooler"))


def test_keyword_search_finds_headlamps_first(demo_catalog):
    results = product_search(query="headlamp")

    assert all("Headlamp" in product.model for product in results[:4])


def test_misspelled_query_still_finds_headlamps(demo_catalog):
    results = product_search(query="headlmap")

    assert "Headlamp" in results[0].model
    assert sum("Headlamp" in product.model for product in results[:5]) >= 3


def test_semantic_query_without_shared_words_finds_drink_gear(demo_catalog):
    top5 = product_search(query=DRINKS_COLD)[:5]

    assert any(_is_for_cold_drinks(product) for product in top5), [p.name for p in top5]


def test_a_new_products_name_is_a_typo_target_at_once(demo_catalog):
    """The name vocabulary is remembered per process, under the catalog's version: a new product counts at once."""
    assert "zanzibar" not in typo_corrections("zanzibr lantern")

    Product.objects.create(category=Category.objects.first(), brand="Zanzibar", model="Reef Lantern",
                           slug="zanzibar-reef-lantern", description="A lantern.", price=Decimal("20.00"), stock=3)

    assert "zanzibar" in typo_corrections("zanzibr lantern")
    assert search_query_style("zanzibr lantern") == "name"


def test_category_filter_keeps_only_that_category(demo_catalog):
    category = Category.objects.get(name="High-tech Lighting")

    results = product_search(query="light for the night", category_slug=category.slug)

    assert results and {product.category_id for product in results} == {category.pk}


def test_price_filter_is_inclusive_and_respected(demo_catalog):
    results = product_search(query="tent", min_price=Decimal("50"), max_price=Decimal("150"))

    assert results and all(Decimal("50") <= product.price <= Decimal("150") for product in results)


def test_inactive_products_are_not_found(demo_catalog):
    Product.objects.filter(model__icontains="Headlamp").update(is_active=False)

    assert not any("Headlamp" in product.model for product in product_search(query="headlamp"))


def test_the_search_document_follows_an_edited_description(demo_catalog):
    from django.contrib.postgres.search import SearchQuery

    from eshop.services.catalog import product_update

    product = Product.objects.filter(model__icontains="Headlamp").order_by("pk").first()
    matching = lambda: list(Product.objects.filter(search_document=SearchQuery("zanzibar", config="english")))  # noqa: E731
    assert matching() == []

    product_update(product=product, data={"description": product.description + " Tested on Zanzibar night dives."})

    assert matching() == [product]


@pytest.mark.parametrize("query, style", [
    ("glotech headlamp", "name"),
    ("slepping bag", "name"),  # a typo of a catalog word still reads as a name
    ("cook dinner at the campsite", "need"),  # "cook" is a brand word, but most words are not names
    ("i want a headlamp", "need"),  # a sentence about the shopper
])
def test_query_style_reads_names_and_needs(demo_catalog, query, style):
    assert search_query_style(query) == style


def test_a_need_is_led_by_meaning_not_by_a_literal_word(demo_catalog):
    """'cook dinner at the campsite': 'campsite' is literally in the lanterns' descriptions; the
    stoves and cookware are what it means."""
    results = product_search_ranked(query="cook dinner at the campsite")

    assert results.style == "need"
    top = results.products[0]
    assert any(word in f"{top.category.name} {top.model}".lower() for word in ("cook", "stove", "grill")), top


def test_a_vague_need_shows_a_handful_not_the_whole_catalog(demo_catalog):
    results = product_search_ranked(query="snacks with protein for long climbs")

    assert 1 <= results.shown <= 12
    assert len(results.products) > results.shown  # the rest is behind "show more"
    assert results.products[0].category.name == "Adventure Nutrition"


def test_a_need_met_by_several_products_shows_several_not_only_the_best(demo_catalog):
    results = product_search_ranked(query="carry all my gear on a week-long trek")

    backpacks = [p for p in results.relevant if "backpack" in f"{p.model} {p.category.name}".lower()]
    assert results.style == "need" and results.shown <= 12
    assert len(backpacks) >= 4, [p.model for p in results.relevant]


def test_a_need_shows_its_close_matches_and_only_those(demo_catalog):
    results = product_search_ranked(query="purify water from a stream so it is safe to drink")

    assert results.shown >= 3
    assert all("Water" in product.category.name for product in results.relevant), results.relevant


def test_a_name_query_is_led_by_its_words(demo_catalog):
    results = product_search_ranked(query="SkyMaster X2000")

    assert results.style == "name"
    assert results.products[0].model == "SkyMaster X2000" and results.shown >= 1


def test_a_query_about_nothing_finds_nothing(demo_catalog):
    assert product_search(query="xyzzy qwerty") == []


def test_query_vectors_are_cached(demo_catalog):
    from unittest import mock

    product_search(query="warm sleeping bag")
    with mock.patch("llm.services.embed.embed_text", side_effect=AssertionError("encoded twice")):
        product_search(query="  Warm   SLEEPING bag ")  # same normalized query


def test_related_products_are_nearest_by_embedding(demo_catalog):
    headlamp = Product.objects.get(model="Rechargeable LED Headlamp")

    related = product_list_related(product=headlamp, limit=4)

    assert headlamp not in related and len(related) == 4
    assert sum("Headlamp" in product.model for product in related) >= 2


def test_related_products_fall_back_to_the_category_without_embedding():
    from tests.factories import CategoryFactory, ProductFactory

    category = CategoryFactory()
    product, sibling = ProductFactory.create_batch(2, category=category)
    ProductFactory(is_active=False, category=category)
    ProductFactory()  # another category

    assert product_list_related(product=product, limit=4) == [sibling]


# --- the page ----------------------------------------------------------------------------------

def test_search_page_shows_results(client, demo_catalog):
    response = client.get("/search/", {"q": "headlamp"})

    assert response.status_code == 200
    assert b"GloTech Rechargeable LED Headlamp" in response.content


def test_search_page_reads_the_category_filter_once(client, demo_catalog):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    lighting = Category.objects.get(name="High-tech Lighting").slug
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/search/", {"q": "headlamp", "category": lighting})

    assert response.status_code == 200 and response.context["products"]
    assert sum('FROM "eshop_category"' in query["sql"] for query in queries.captured_queries) == 1  # validation and the <select>


def test_search_page_shows_only_the_results_above_the_floor_with_a_show_more_link(client, demo_catalog):
    response = client.get("/search/", {"q": "headlamp"})

    shown = response.context["products"]
    assert shown and all("Headlamp" in product.model for product in shown)
    assert response.context["more_count"] > 0
    assert b'data-testid="search-show-more"' in response.content and b"all=1" in response.content


def test_show_more_lists_the_weaker_matches_too(client, demo_catalog):
    floor_only = client.get("/search/", {"q": "headlamp"}).context["page"].paginator.count

    response = client.get("/search/", {"q": "headlamp", "all": "1"})

    assert response.context["page"].paginator.count > floor_only
    assert b'data-testid="search-show-more"' not in response.content


def test_show_more_paginates_and_keeps_the_query(client, demo_catalog):
    response = client.get("/search/", {"q": "tent", "all": "1", "page": 2})

    assert response.status_code == 200
    assert response.context["page"].number == 2
    assert b"q=tent" in response.content and b"all=1" in response.content


def test_search_page_with_empty_query_shows_the_form(client, demo_catalog):
    response = client.get("/search/")

    assert response.status_code == 200
    assert b'name="q"' in response.content and b"What are you looking for?" in response.content


def test_search_page_without_results_suggests_categories_and_products(client, demo_catalog):
    response = client.get("/search/", {"q": "xyzzy qwerty"})

    assert response.status_code == 200
    assert b"No products match" in response.content
    assert response.context["suggested_categories"] and response.context["popular_products"]


@pytest.mark.parametrize("params, message", [
    ({"min_price": "cheap"}, b"Enter the minimum price as a number"),
    ({"max_price": "-5"}, b"The maximum price cannot be negative."),
    ({"min_price": "100", "max_price": "10"}, b"must not be below the minimum price"),
    ({"category": "no-such-category"}, b"There is no such category."),
])
def test_search_page_explains_bad_filters(client, demo_catalog, params, message):
    response = client.get("/search/", {"q": "tent", **params})

    assert response.status_code == 400
    assert message in response.content


def test_search_page_filters_by_category_and_keeps_it_selected(client, demo_catalog):
    response = client.get("/search/", {"q": "tent", "category": "camping-shelters"})

    assert response.status_code == 200
    assert response.context["products"]
    assert {product.category.slug for product in response.context["products"]} == {"camping-shelters"}
    assert b'<option value="camping-shelters" selected>Camping Shelters</option>' in response.content
    assert response.content.count(b" selected>") == 1
    assert response.content.count(b"<option ") == Category.objects.count() + 1  # and "All categories"


def test_search_page_escapes_html_in_category_names(client, demo_catalog):
    from tests.factories import CategoryFactory

    CategoryFactory(name='<b>Bold</b> & "Co"', slug="bold-co")

    response = client.get("/search/", {"q": "tent", "category": "bold-co"})

    assert response.status_code == 200
    assert b"<b>Bold</b>" not in response.content
    assert b'<option value="bold-co" selected>&lt;b&gt;Bold&lt;/b&gt; &amp; &quot;Co&quot;</option>' in response.content


def test_search_page_escapes_html_in_the_query(client, demo_catalog):
    response = client.get("/search/", {"q": "<script>alert(1)</script>"})

    assert response.status_code == 200
    assert b"<script>alert(1)</script>" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content


def test_every_page_has_a_labelled_search_box(client, db):
    response = client.get("/")

    assert b'role="search"' in response.content
    assert b'<label for="site-search-q"' in response.content


# --- the API -----------------------------------------------------------------------------------

def test_search_api_returns_products(client, demo_catalog):
    response = client.get("/api/products/search/", {"q": "headlmap"})

    assert response.status_code == 200
    assert "Headlamp" in response.json()["results"][0]["model"]


def test_search_api_returns_the_floor_unless_asked_for_all(client, demo_catalog):
    floor = client.get("/api/products/search/", {"q": "headlamp"}).json()["count"]
    every = client.get("/api/products/search/", {"q": "headlamp", "all": "true"}).json()["count"]

    assert 0 < floor < every


def test_search_api_filters_by_category_and_price(client, demo_catalog):
    response = client.get("/api/products/search/", {"q": "tent", "category": "camping-shelters", "max_price": "200"})

    assert response.status_code == 200
    results = response.json()["results"]
    assert results and all(r["category"] == "Camping Shelters" and Decimal(r["price"]) <= 200 for r in results)


@pytest.mark.parametrize("params, field", [
    ({}, "q"),
    ({"q": ""}, "q"),
    ({"q": "x" * 201}, "q"),
    ({"q": "tent", "min_price": "abc"}, "min_price"),
    ({"q": "tent", "max_price": "-1"}, "max_price"),
    ({"q": "tent", "min_price": "10", "max_price": "5"}, "max_price"),
    ({"q": "tent", "category": "nope"}, "category"),
])
def test_search_api_refuses_bad_input_with_400(client, demo_catalog, params, field):
    response = client.get("/api/products/search/", params)

    assert response.status_code == 400
    assert field in response.json()


def test_search_api_is_in_the_openapi_schema(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert "/api/products/search/" in response.content.decode()
