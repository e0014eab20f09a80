"""Contact support, My support requests, the thread page: filing, replying, closing; access and bad input."""

import pytest
from django.core import mail
from django.urls import reverse

from support.models import Message, Ticket
from support.models.tickets import TicketStatus
from support.services.tickets import ticket_agent_reply, ticket_create
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_client(client, customer):
    client.force_login(customer)
    return client


def test_a_customer_files_a_request_and_sees_it(customer_client, customer, ticket_categories, no_enqueue,
                                               django_capture_on_commit_callbacks):
    order = OrderFactory(user=customer)
    with django_capture_on_commit_callbacks(execute=True):
        response = customer_client.post(reverse("support:ticket-new"), {
            "subject": "Stove", "order": order.number, "body": "The stove leaks gas."})
    ticket = Ticket.objects.get(customer=customer)
    assert response.status_code == 302 and response.url == reverse("support:ticket-detail", args=[ticket.number])
    assert ticket.order == order and "order" in ticket.agent_fields
    assert [name for name, *_ in no_enqueue].count("support.tasks.triage_ticket_due") == 1
    assert mail.outbox and f"#{ticket.number}" in mail.outbox[0].subject

    page = customer_client.get(reverse("support:ticket-list")).content.decode()
    assert f"#{ticket.number}" in page and "Stove" in page
    detail = customer_client.get(response.url).content.decode()
    assert "The stove leaks gas." in detail


def test_only_the_customers_own_orders_can_be_picked(customer_client, other_customer, ticket_categories, no_enqueue):
    foreign = OrderFactory(user=other_customer)
    response = customer_client.post(reverse("support:ticket-new"), {"order": foreign.number, "body": "Hi"})
    assert response.status_code == 200 and "valid choice" in response.content.decode()
    assert not Ticket.objects.exists()
    form = customer_client.get(reverse("support:ticket-new")).content.decode()
    assert foreign.number not in form


@pytest.mark.parametrize("body, error", [
    ("", "Please write a message."),
    ("   \x00\x07  ", "Please write a message."),
    ("x" * 10_001, "too long"),
])
def test_bad_messages_get_a_clear_error_and_create_nothing(customer_client, ticket_categories, no_enqueue, body, error):
    response = customer_client.post(reverse("support:ticket-new"), {"subject": "keep me", "body": body})
    page = response.content.decode()
    assert response.status_code == 200 and error in page
    assert 'value="keep me"' in page  # what was typed is kept
    assert not Ticket.objects.exists()


def test_html_script_emoji_rtl_and_control_characters_are_stored_and_shown_safely(customer_client, customer, ticket_categories, no_enqueue):
    body = "<script>alert('x')</script> <b>bold</b> 🔥🏕️ مرحبا بالعالم \u202edlrow\x00\x1b end"
    customer_client.post(reverse("support:ticket-new"), {"body": body})
    message = Message.objects.get()
    assert "\x00" not in message.body and "\x1b" not in message.body and "🔥🏕️" in message.body and "مرحبا" in message.body
    page = customer_client.get(reverse("support:ticket-detail", args=[message.ticket.number])).content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<b>bold</b>" not in page and "🔥🏕️" in page and 'dir="auto"' in page


def test_another_customers_request_is_not_found(client, other_customer, customer, ticket_categories, no_enqueue):
    ticket = ticket_create(customer=customer, body="mine")
    client.force_login(other_customer)
    assert client.get(reverse("support:ticket-detail", args=[ticket.number])).status_code == 404
    assert client.post(reverse("support:ticket-detail", args=[ticket.number]), {"body": "hijack"}).status_code == 404
    assert client.post(reverse("support:ticket-close", args=[ticket.number])).status_code == 404
    assert f"#{ticket.number}" not in client.get(reverse("support:ticket-list")).content.decode()
    assert ticket.messages.count() == 1


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for name in ("support:ticket-new", "support:ticket-list"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login" in response.url


def test_the_customer_sees_the_agents_reply_but_not_internal_notes(customer_client, customer, agent, ticket_categories, no_enqueue):
    ticket = ticket_create(customer=customer, body="Where is my parcel?")
    ticket_agent_reply(ticket=ticket, agent=agent, body="It ships tomorrow.")
    ticket_agent_reply(ticket=ticket, agent=agent, body="SECRET: customer was rude before", internal=True)
    page = customer_client.get(reverse("support:ticket-detail", args=[ticket.number])).content.decode()
    assert "It ships tomorrow." in page and "SECRET" not in page
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.PENDING and ticket.first_response_at is not None


def test_a_reply_reopens_and_closing_stops_replies(customer_client, customer, agent, ticket_categories, no_enqueue):
    ticket = ticket_create(customer=customer, body="Help")
    ticket_agent_reply(ticket=ticket, agent=agent, body="Done?")
    url = reverse("support:ticket-detail", args=[ticket.number])
    assert customer_client.post(url, {"body": "Not yet"}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN and ticket.messages.count() == 3

    customer_client.post(reverse("support:ticket-close", args=[ticket.number]))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    response = customer_client.post(url, {"body": "one more thing"})
    assert response.status_code == 200 and "closed" in response.content.decode()
    assert not ticket.messages.filter(body="one more thing").exists()
