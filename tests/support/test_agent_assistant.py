"""The agent's knowledge-base assistant on a ticket page (API and partial)."""

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from support.models import ChatTurn
from support.models.chat import ConversationKind
from support.services.chat_sources import chat_sources_for_turn
from support.services.tickets import ticket_create
from support.tasks import llm_answer_chat_turn
from tests.factories import AgentFactory, OrderFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(customer):
    return ticket_create(customer=customer, subject="Lamp", body="Where is my order? Also my headlamp will not switch on.",
                         product=ProductFactory())


@pytest.fixture
def agent_client(client):
    client.force_login(AgentFactory(first_name="Alex"))
    return client


def test_an_agent_asks_about_the_ticket_in_their_own_assistant_conversation(agent_client, ticket, monkeypatch,
                                                                             django_capture_on_commit_callbacks):
    queued = []
    monkeypatch.setattr(llm_answer_chat_turn, "delay", queued.append)

    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(reverse("agent-api-assistant", args=[ticket.number]), {"action": "draft"},
                                     content_type="application/json")

    assert response.status_code == 202, response.content
    turn = ChatTurn.objects.get()
    assert queued == [turn.pk]
    assert "headlamp will not switch on" in turn.question and turn.product == ticket.product
    assert turn.conversation.kind == ConversationKind.AGENT and turn.conversation.about_ticket == ticket
    assert agent_client.get(response.json()["events_url"]).status_code == 200


def test_the_assistant_never_looks_up_orders_for_an_agent(agent_client, ticket, customer, monkeypatch):
    monkeypatch.setattr(llm_answer_chat_turn, "delay", lambda pk: None)
    OrderFactory(user=customer)
    agent_client.post(reverse("agent-api-assistant", args=[ticket.number]), {"action": "manual"}, content_type="application/json")

    sources, needs_sign_in = chat_sources_for_turn(turn=ChatTurn.objects.get())

    assert not needs_sign_in and all(source.kind != "order" for source in sources)


def test_customers_cannot_use_the_assistant(client, customer, ticket):
    client.force_login(customer)

    response = client.post(reverse("agent-api-assistant", args=[ticket.number]), {"action": "draft"}, content_type="application/json")

    assert response.status_code == 403 and not ChatTurn.objects.exists()


def test_an_unknown_ticket_or_action_is_refused(agent_client, ticket):
    url = reverse("agent-api-assistant", args=[ticket.number])

    assert agent_client.post(reverse("agent-api-assistant", args=[999999]), {"action": "draft"},
                             content_type="application/json").status_code == 404
    assert agent_client.post(url, {"action": "send"}, content_type="application/json").status_code == 400


def test_the_partial_renders_its_buttons_for_the_ticket(ticket):
    request = RequestFactory().get("/")
    request.user = AgentFactory()

    html = render_to_string("support/agent/_assistant.html", {"ticket": ticket, "site_name": "Shop"}, request=request)

    assert reverse("agent-api-assistant", args=[ticket.number]) in html
    assert 'data-action="manual"' in html and 'data-action="draft"' in html and "Use as reply" in html
