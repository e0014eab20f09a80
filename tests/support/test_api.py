"""Support API: customer, agent and admin operations, access, bad input."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from support.models import Ticket, TicketCategory
from support.selectors import ticket_category_options
from support.services.tickets import ticket_create
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_customer_creates_lists_reads_replies_and_closes(customer, ticket_categories, no_enqueue):
    order = OrderFactory(user=customer)
    client = api(customer)
    created = client.post(reverse("api-ticket-create"), {"subject": "Late", "body": "Where is it?", "order": order.number.lower()},
                          format="json")
    assert created.status_code == 201, created.content
    number = created.json()["number"]
    assert created.json()["order"] == order.number and created.json()["messages"][0]["body"] == "Where is it?"
    assert [t["number"] for t in client.get(reverse("api-ticket-list")).json()["results"]] == [number]
    reply = client.post(reverse("api-ticket-reply", args=[number]), {"body": "Any news?"}, format="json")
    assert reply.status_code == 201 and len(reply.json()["messages"]) == 2
    closed = client.post(reverse("api-ticket-close", args=[number]))
    assert closed.json()["status"] == "closed"
    again = client.post(reverse("api-ticket-reply", args=[number]), {"body": "more"}, format="json")
    assert again.status_code == 400 and "closed" in again.json()["detail"]


@pytest.mark.parametrize("payload, field", [
    ({"body": ""}, "body"),
    ({"body": "   \x00 "}, "body"),
    ({"body": "  \x07\x1b  "}, "detail"),
    ({"body": "z" * 10_001}, "detail"),
    ({"body": 42}, "body"),
    ({"body": "hi", "subject": {"a": 1}}, "subject"),
    ({"body": ["a", "list"]}, "body"),
    ({}, "body"),
    ({"body": "hi", "order": "TH-999999"}, "order"),
    ({"body": "hi", "product": "no-such-thing"}, "product"),
])
def test_bad_create_input_is_a_clear_400_and_saves_nothing(customer, ticket_categories, no_enqueue, payload, field):
    response = api(customer).post(reverse("api-ticket-create"), payload, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Ticket.objects.exists()


def test_another_customers_order_and_ticket_are_refused(customer, other_customer, ticket_categories, no_enqueue):
    foreign_order = OrderFactory(user=other_customer)
    response = api(customer).post(reverse("api-ticket-create"), {"body": "hi", "order": foreign_order.number}, format="json")
    assert response.status_code == 400 and "order" in response.json()
    theirs = ticket_create(customer=other_customer, body="private")
    for name, method in (("api-ticket-detail", "get"), ("api-ticket-reply", "post"), ("api-ticket-close", "post")):
        assert getattr(api(customer), method)(reverse(name, args=[theirs.number]), {"body": "x"}, format="json").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "open" and theirs.messages.count() == 1


def test_customers_and_visitors_cannot_use_the_agent_api(customer, ticket_categories, no_enqueue):
    ticket = ticket_create(customer=customer, body="mine")
    for client, code in ((api(), 403), (api(customer), 403)):
        assert client.get(reverse("api-desk-ticket-list")).status_code in (401, code)
        assert client.get(reverse("api-desk-ticket-detail", args=[ticket.number])).status_code in (401, code)
        assert client.post(reverse("api-desk-ticket-correct", args=[ticket.number]),
                           {"field": "category", "value": "account"}, format="json").status_code in (401, code)
    assert ticket.corrections.count() == 0


def test_agent_lists_reads_replies_corrects_assigns_and_sets_status(agent, customer, ticket_categories, no_enqueue):
    ticket = ticket_create(customer=customer, body="My stove leaks")
    client = api(agent)
    listed = client.get(reverse("api-desk-ticket-list"), {"status": "open", "sort": "urgency"}).json()
    assert listed["results"][0]["number"] == ticket.number and listed["results"][0]["ai_status"] == "pending"
    assert client.get(reverse("api-desk-ticket-list"), {"sentiment": "furious"}).status_code == 400

    corrected = client.post(reverse("api-desk-ticket-correct", args=[ticket.number]), {"field": "category", "value": "defect-warranty"},
                            format="json").json()
    assert corrected["category"] == "defect-warranty" and corrected["agent_fields"] == ["category"]
    bad = client.post(reverse("api-desk-ticket-correct", args=[ticket.number]), {"field": "urgency", "value": "whenever"}, format="json")
    assert bad.status_code == 400
    foreign = OrderFactory()
    bad = client.post(reverse("api-desk-ticket-correct", args=[ticket.number]), {"field": "order", "value": foreign.number}, format="json")
    assert bad.status_code == 400 and "customer" in bad.json()["detail"]

    replied = client.post(reverse("api-desk-ticket-reply", args=[ticket.number]), {"body": "Stop using it.", "internal": False},
                          format="json").json()
    assert replied["status"] == "pending" and replied["messages"][-1]["body"] == "Stop using it."
    assert client.post(reverse("api-desk-ticket-assign", args=[ticket.number]), {"assignee": customer.email},
                       format="json").status_code == 400
    assert client.post(reverse("api-desk-ticket-assign", args=[ticket.number]), {"assignee": None},
                       format="json").json()["assignee"] is None
    assert client.post(reverse("api-desk-ticket-status", args=[ticket.number]), {"status": "resolved"},
                       format="json").json()["status"] == "resolved"
    assert client.get(reverse("api-desk-ticket-similar", args=[ticket.number])).json() == []


def test_admin_manages_categories_and_the_next_triage_uses_the_new_set(ticket_categories):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client = api(admin)
    created = client.post(reverse("api-ticket-category-list"), {"slug": "rentals", "name": "Rentals",
                                                                 "description": "Renting gear for a trip."}, format="json")
    assert created.status_code == 201
    assert "rentals" in [c.slug for c in ticket_category_options()]
    client.patch(reverse("api-ticket-category-detail", args=["rentals"]), {"is_active": False}, format="json")
    assert "rentals" not in [c.slug for c in ticket_category_options()]
    assert client.delete(reverse("api-ticket-category-detail", args=["rentals"])).status_code == 204
    assert not TicketCategory.objects.filter(slug="rentals").exists()
    duplicate = client.post(reverse("api-ticket-category-list"), {"slug": "account", "name": "X", "description": "y"}, format="json")
    assert duplicate.status_code == 400


def test_the_schema_lists_the_support_api(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/api/support/tickets/create/", "/api/support/desk/tickets/{number}/correct/", "/api/support/ticket-categories/"):
        assert path in schema["paths"]
