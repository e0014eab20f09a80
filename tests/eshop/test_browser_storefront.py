"""The storefront walk in a real browser: home -> category -> product -> search -> cart -> login -> checkout -> My orders.

Screenshots of every step are kept in test-artifacts/storefront/ (git-ignored).
"""

from pathlib import Path

import pytest
from django.conf import settings

from eshop.models import Order
from tests.factories import UserFactory

ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "storefront"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_storefront_walk_from_home_to_my_orders(live_server, browser_page, demo_catalog):
    page = browser_page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    step = iter(range(1, 100))

    def shot(name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{next(step):02d}-{name}.png"), full_page=True)

    customer = UserFactory(email="trail@example.com", first_name="Robin")

    # home
    page.goto(live_server.url + "/")
    assert page.get_by_role("heading", name="Shop by category").is_visible()
    shot("home")

    # a category
    page.get_by_role("link", name="High-tech Lighting").click()
    page.wait_for_url("**/c/high-tech-lighting/")
    assert page.get_by_role("heading", level=1, name="High-tech Lighting").is_visible()
    shot("category")

    # a product
    page.get_by_role("link", name="GloTech Rechargeable LED Headlamp").click()
    page.wait_for_url("**/p/**")
    assert page.get_by_role("heading", level=1).inner_text() == "GloTech Rechargeable LED Headlamp"
    shot("product")

    # search, from the box in the header
    page.get_by_label("Search products").first.fill("water filter bottle")
    page.get_by_label("Search products").first.press("Enter")
    page.wait_for_url("**/search/?q=water+filter+bottle*")
    results = page.locator("[data-testid=search-results] .product-card")
    assert results.count() > 0
    assert "Water Filter Bottle" in results.first.inner_text()
    shot("search")

    # add to cart (anonymous: a session cart)
    results.first.get_by_role("link").click()
    page.wait_for_url("**/p/**")
    product_name = page.get_by_role("heading", level=1).inner_text()
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url("**/cart/")
    assert product_name in page.locator("main").inner_text()
    shot("cart")

    # log in: the session cart is merged into the account
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("E-mail address").fill(customer.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    shot("login")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    page.goto(live_server.url + "/cart/")
    assert product_name in page.locator("main").inner_text()

    # checkout
    page.get_by_role("link", name="Check out").click()
    page.wait_for_url("**/checkout/")
    page.get_by_label("Full name").fill("Robin Trail")
    page.get_by_label("Address line 1").fill("12 Pine St")
    page.get_by_label("City").fill("Boulder")
    page.get_by_label("State / province").fill("CO")
    page.get_by_label("Postal code").fill("80302")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_label("Expiry (MM/YY)").fill("12/39")
    page.get_by_label("Security code (CVC)").fill("123")
    shot("checkout")
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url("**/checkout/done/**")
    assert page.get_by_role("heading", name="Thank you! Your order is placed.").is_visible()
    shot("confirmation")

    # the order in "My orders"
    order = Order.objects.get(user=customer)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My orders").click()
    page.wait_for_url("**/orders/")
    assert page.get_by_role("link", name=order.number).is_visible()
    shot("my-orders")
