"""Staff pages in a real browser: the customer chat bubble is on the storefront, never on the agent
desk (it sat over the agent's Status/Assignee buttons)."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from support.services.tickets import ticket_create


def _signed_in_page(chromium_browser, live_server, user):
    client = Client()
    client.force_login(user)
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                          "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_chat_bubble_on_the_agent_desk_but_one_on_the_shop(live_server, chromium_browser, agent, customer,
                                                              ticket_categories, no_enqueue):
    ticket = ticket_create(customer=customer, body="My stove leaks gas at the valve.")
    context, page = _signed_in_page(chromium_browser, live_server, agent)
    try:
        for url in (reverse("support:desk-inbox"), reverse("support:desk-ticket", args=[ticket.number])):
            page.goto(live_server.url + url)
            assert page.get_by_role("heading", level=1).is_visible(), url
            assert page.locator("#chat, #chat-toggle").count() == 0, url

        page.goto(live_server.url + "/")
        assert page.get_by_role("button", name="Questions? Ask us").is_visible()
    finally:
        context.close()
