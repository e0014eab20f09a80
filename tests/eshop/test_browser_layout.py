"""The page frame in a real browser: a 390 px phone gets the whole header (side padding, the Search
button whole, no sideways scrolling); the sign-in page names the shop, not the host."""

import pytest
from django.conf import settings


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_header_fits_a_390_px_phone(live_server, chromium_browser):
    context = chromium_browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(live_server.url + "/")
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        brand = page.locator(".site-header .brand").bounding_box()
        search = page.locator(".site-search").get_by_role("button", name="Search").bounding_box()

        assert scroll_width <= 390
        assert brand["x"] >= 12  # side padding, not glued to the screen's edge
        assert search["x"] >= 12 and search["x"] + search["width"] <= 390 - 12
        assert page.locator(".site-search").get_by_role("button", name="Search").is_visible()
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_sign_in_page_shows_the_shops_name(live_server, browser_page):
    browser_page.goto(live_server.url + "/accounts/login/")

    assert browser_page.locator(".site-header .brand").inner_text() == settings.SITE_NAME
    assert browser_page.title() == f"Sign in · {settings.SITE_NAME}"
    assert "127.0.0.1" not in browser_page.locator("header.site-header").inner_text()
