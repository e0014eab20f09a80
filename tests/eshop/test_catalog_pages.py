import pytest
from django.urls import reverse

from eshop.selectors.catalog import product_list_related
from tests.factories import CategoryFactory, ProductFactory

pytestmark = pytest.mark.django_db


def test_home_lists_categories_linking_to_their_pages_and_products_linking_to_theirs(client):
    product = ProductFactory(price="99.00")

    page = client.get(reverse("home")).content.decode()

    assert reverse("category-detail", args=[product.category.slug]) in page
    assert reverse("product-detail", args=[product.slug]) in page


def test_category_page_shows_12_products_per_page_with_a_page_navigator(client):
    category = CategoryFactory()
    ProductFactory.create_batch(14, category=category)

    first = client.get(reverse("category-detail", args=[category.slug]))
    second = client.get(reverse("category-detail", args=[category.slug]), {"page": 2})

    assert len(first.context["products"]) == 12
    assert len(second.context["products"]) == 2
    assert 'aria-label="Pages"' in first.content.decode()
    assert "?page=2" in first.content.decode()


def test_category_page_with_a_bad_page_number_shows_a_page_not_an_error(client):
    category = CategoryFactory()
    ProductFactory.create_batch(3, category=category)

    for page in ("abc", "-1", "999"):
        response = client.get(reverse("category-detail", args=[category.slug]), {"page": page})
        assert response.status_code == 200
        assert len(response.context["products"]) == 3


def test_category_page_hides_inactive_products(client):
    category = CategoryFactory()
    ProductFactory(category=category, model="Visible")
    ProductFactory(category=category, model="Hidden", is_active=False)

    page = client.get(reverse("category-detail", args=[category.slug])).content.decode()

    assert "Visible" in page and "Hidden" not in page


def test_unknown_category_is_404(client):
    assert client.get(reverse("category-detail", args=["no-such-thing"])).status_code == 404


def test_product_page_shows_breadcrumbs_price_stock_and_description(client):
    product = ProductFactory(price="129.50", stock=7, description="Sleeps two <b>comfortably</b>.")

    page = client.get(reverse("product-detail", args=[product.slug])).content.decode()

    assert 'aria-label="Breadcrumb"' in page
    assert reverse("home") in page and reverse("category-detail", args=[product.category.slug]) in page
    assert "$129.50" in page
    assert "In stock" in page
    assert "&lt;b&gt;comfortably&lt;/b&gt;" in page
    assert "Add to cart" in page and "disabled" not in page.split("add-to-cart")[1].split("</form>")[0]


def test_out_of_stock_product_page_disables_add_to_cart(client):
    product = ProductFactory(stock=0)

    page = client.get(reverse("product-detail", args=[product.slug])).content.decode()

    form = page.split('class="add-to-cart"')[1].split("</form>")[0]
    assert "Out of stock" in page
    assert 'type="submit" class="button" disabled' in form


def test_inactive_or_unknown_product_page_is_404(client):
    product = ProductFactory(is_active=False)

    assert client.get(reverse("product-detail", args=[product.slug])).status_code == 404
    assert client.get(reverse("product-detail", args=["nope"])).status_code == 404


def test_related_products_placeholder_returns_other_active_products_of_the_same_category():
    product = ProductFactory()
    sibling = ProductFactory(category=product.category)
    ProductFactory(category=product.category, is_active=False)
    ProductFactory()  # other category

    assert product_list_related(product=product, limit=4) == [sibling]


def test_product_page_lists_related_products(client):
    product = ProductFactory()
    sibling = ProductFactory(category=product.category)

    page = client.get(reverse("product-detail", args=[product.slug])).content.decode()

    assert "Related products" in page and sibling.name in page


def test_catalog_pages_make_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    category = CategoryFactory()
    ProductFactory.create_batch(12, category=category)

    with django_assert_max_num_queries(6):
        client.get(reverse("category-detail", args=[category.slug]))


def test_product_lists_do_not_read_the_vectors_no_page_shows():
    """A listed product carries neither its embedding (384 floats parsed from text) nor its full-text document: on a
    search page they were a tenth of the time, and reading one later would cost a query per product."""
    from eshop.models import Product
    from eshop.selectors.cart import cart_get
    from eshop.selectors.catalog import product_list_featured, product_list_for_category, product_list_popular
    from eshop.selectors.search import product_search
    from eshop.services.cart import cart_item_add
    from tests.factories import UserFactory

    category = CategoryFactory()
    products = ProductFactory.create_batch(3, category=category, model="Summit Lantern", embedding=[0.1] * 384)
    customer = UserFactory()
    cart_item_add(user=customer, session=None, product_id=products[0].pk, quantity=1)
    listed = {
        "featured": product_list_featured(), "category": list(product_list_for_category(category=category, page=1)),
        "related": product_list_related(product=Product.objects.get(pk=products[0].pk)), "popular": product_list_popular(),
        "search": product_search(query="summit lantern"),
        "cart": [line.product for line in cart_get(user=customer, session=None).lines],
    }

    for name, items in listed.items():
        assert items, name
        assert all({"embedding", "search_document"} <= item.get_deferred_fields() for item in items), name
