"""The agent workspace: inbox (tabs, filters, sort, search, pagination, live state), ticket page
actions, and who may see it."""

import pytest
from django.urls import reverse

from core.jobs import JobStatus
from support.models import Ticket, TicketCategory
from support.models.tickets import TicketStatus
from support.services.tickets import ticket_create
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def _triaged(customer, body, *, category, urgency="normal", sentiment="neutral", status=TicketStatus.OPEN, title=""):
    ticket = ticket_create(customer=customer, body=body)
    Ticket.objects.filter(pk=ticket.pk).update(category=TicketCategory.objects.get(slug=category), urgency=urgency,
                                               sentiment=sentiment, status=status, title=title or body[:40],
                                               ai_status=JobStatus.DONE)
    return Ticket.objects.get(pk=ticket.pk)


def test_customers_get_403_and_visitors_go_to_sign_in(client, customer, ticket_categories, no_enqueue):
    ticket = ticket_create(customer=customer, body="mine")
    urls = [reverse("support:desk-inbox"), reverse("support:desk-inbox-state"),
            reverse("support:desk-ticket", args=[ticket.number])]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.url
    client.force_login(customer)
    for url in urls:
        assert client.get(url).status_code == 403
    response = client.post(reverse("support:desk-ticket-reply", args=[ticket.number]), {"body": "fake agent"})
    assert response.status_code == 403 and ticket.messages.count() == 1


def test_an_agent_cannot_open_admin_only_pages(agent_client):
    response = agent_client.get("/admin/support/ticketcategory/add/")
    assert response.status_code in (302, 403)
    assert agent_client.get(reverse("api-ticket-category-list")).status_code == 403


def test_inbox_tabs_filters_sort_and_keyword_search(agent_client, customer, ticket_categories, no_enqueue):
    late = _triaged(customer, "My parcel is late, tracking stuck", category="order-status", urgency="high", sentiment="negative")
    refund = _triaged(customer, "Refund for the returned tent please", category="returns-refunds", urgency="low")
    done = _triaged(customer, "Thanks for the help with the stove", category="feedback", status=TicketStatus.RESOLVED)

    page = agent_client.get(reverse("support:desk-inbox")).content.decode()
    assert f"#{late.number}" in page and f"#{refund.number}" in page and f"#{done.number}" not in page
    assert 'data-testid="tab-open"' in page and "Open <span class=\"badge badge-muted\">2</span>" in page

    page = agent_client.get(reverse("support:desk-inbox"), {"status": "resolved"}).content.decode()
    assert f"#{done.number}" in page and f"#{late.number}" not in page

    page = agent_client.get(reverse("support:desk-inbox"), {"category": "returns-refunds"}).content.decode()
    assert f"#{refund.number}" in page and f"#{late.number}" not in page

    response = agent_client.get(reverse("support:desk-inbox"), {"sort": "urgency"})
    assert [t.number for t in response.context["tickets"]] == [late.number, refund.number]

    page = agent_client.get(reverse("support:desk-inbox"), {"q": "tracking", "status": "all"}).content.decode()
    assert f"#{late.number}" in page and f"#{refund.number}" not in page

    # a bookmark with nonsense values still works (defaults)
    response = agent_client.get(reverse("support:desk-inbox"), {"status": "x", "sort": "drop table", "page": "999"})
    assert response.status_code == 200


def test_semantic_search_finds_by_meaning(agent_client, customer, ticket_categories, no_enqueue):
    from support.services.triage import ticket_embed

    stove = _triaged(customer, "The burner will not light and I smell propane", category="defect-warranty")
    password = _triaged(customer, "I cannot log in to my account, reset link expired", category="account")
    for ticket in (stove, password):
        ticket_embed(ticket_id=ticket.pk)
    response = agent_client.get(reverse("support:desk-inbox"), {"q": "gas leak from camping cooker", "mode": "semantic"})
    assert [t.number for t in response.context["tickets"]][0] == stove.number


def test_the_state_endpoint_reports_counts_and_triage_progress(agent_client, customer, ticket_categories, no_enqueue):
    ticket_create(customer=customer, body="one")
    _triaged(customer, "two", category="account")
    state = agent_client.get(reverse("support:desk-inbox-state")).json()
    assert state["counts"]["open"] == 2 and state["triage"] == {"done": 1, "total": 2, "failed": 0, "waiting": 1}
    page = agent_client.get(reverse("support:desk-inbox")).content.decode()
    assert "AI triage: 1 of 2 done" in page


def test_ticket_page_reply_note_status_assign_and_correction(agent_client, agent, customer, ticket_categories, no_enqueue):
    ticket = _triaged(customer, "Where is my order?", category="account")
    own, foreign = OrderFactory(user=customer), OrderFactory()
    url = reverse("support:desk-ticket", args=[ticket.number])
    page = agent_client.get(url).content.decode()
    assert 'id="reply-body"' in page and "Where is my order?" in page
    assert own.number in page and foreign.number not in page  # the customer's orders only

    update = reverse("support:desk-ticket-update", args=[ticket.number])
    agent_client.post(update, {"action": "correct", "field": "category", "value": "order-status"})
    agent_client.post(reverse("support:desk-ticket-reply", args=[ticket.number]), {"body": "Checking now.", "internal": "0"})
    agent_client.post(reverse("support:desk-ticket-reply", args=[ticket.number]), {"body": "carrier trace", "internal": "1"})
    agent_client.post(update, {"action": "status", "status": "resolved"})
    agent_client.post(update, {"action": "assign", "assignee": str(customer.pk)})  # not an agent: refused

    ticket.refresh_from_db()
    assert ticket.category.slug == "order-status" and ticket.agent_fields == ["category"]
    assert ticket.corrections.get().to_value == "order-status"
    assert ticket.status == TicketStatus.RESOLVED and ticket.resolved_at and ticket.assignee == agent
    assert ticket.messages.filter(is_internal=True, body="carrier trace").exists()


def test_an_empty_reply_is_refused_and_a_too_long_one_is_kept_for_editing(agent_client, customer, ticket_categories, no_enqueue):
    ticket = _triaged(customer, "Hello", category="account")
    reply = reverse("support:desk-ticket-reply", args=[ticket.number])
    response = agent_client.post(reply, {"body": "  "}, follow=True)
    assert "Please write a message." in response.content.decode()
    response = agent_client.post(reply, {"body": "y" * 10_001}, follow=True)
    page = response.content.decode()
    assert "too long" in page and "y" * 10_001 in page
    assert ticket.messages.count() == 1


def test_a_failed_triage_is_visible_on_the_ticket_page(agent_client, customer, ticket_categories, no_enqueue):
    ticket = ticket_create(customer=customer, body="hello")
    Ticket.objects.filter(pk=ticket.pk).update(ai_status=JobStatus.FAILED, ai_attempts=3, ai_error="GenerationTimeout: 90 s")
    page = agent_client.get(reverse("support:desk-ticket", args=[ticket.number])).content.decode()
    assert "AI triage failed after 3 attempts: GenerationTimeout: 90 s" in page


def test_pagination_keeps_the_filters(agent_client, customer, ticket_categories, no_enqueue):
    for i in range(27):
        _triaged(customer, f"ticket {i}", category="account")
    page = agent_client.get(reverse("support:desk-inbox"), {"category": "account"}).content.decode()
    assert "category=account&amp;page=2" in page
    second = agent_client.get(reverse("support:desk-inbox"), {"category": "account", "page": 2})
    assert len(second.context["tickets"]) == 2


def test_a_non_agent_staff_user_is_not_an_agent(client, ticket_categories):
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    assert client.get(reverse("support:desk-inbox")).status_code == 403


def test_an_inbox_search_that_finds_nothing_says_so_and_an_empty_tab_says_no_tickets(agent_client):
    searched = agent_client.get(reverse("support:desk-inbox"), {"q": "<b>zeppelin</b>"}).content.decode()
    empty = agent_client.get(reverse("support:desk-inbox"), {"status": "resolved"}).content.decode()

    assert "Nothing matches “&lt;b&gt;zeppelin&lt;/b&gt;”." in searched and 'data-testid="inbox"' not in searched
    assert "No tickets here." in empty
