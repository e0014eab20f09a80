"""Triage, a chat answer and ask-the-data through their public tasks, on both generator backends:
SmolLM2 in this process, and the same weights behind a real OpenAI-compatible server
(`llm_backend` in tests/conftest.py). The tasks run in this process, so each variant is sure of
its backend; the worker processes are exercised in test_chat_worker.py and test_triage_worker.py."""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from core.jobs import JobStatus
from support.analytics.tasks import llm_data_question_answer
from support.models import ChatTurn, DataQuestion, Ticket
from support.services.tickets import ticket_create
from support.services.triage import ticket_triage_run
from support.tasks import llm_answer_chat_turn, llm_triage_ticket
from tests.conftest import use_openai_backend
from tests.helpers import sse_events

pytestmark = pytest.mark.slow


@pytest.mark.django_db
def test_a_ticket_is_triaged(llm_backend, customer, ticket_categories, no_enqueue):
    ticket = ticket_create(customer=customer, subject="Headlamp",
                           body="My GloTech headlamp stopped charging after two weeks. I need it for a trip on Friday!")

    assert ticket_triage_run(ticket_id=ticket.pk) == "done"  # once: the task would retry a failure eagerly here

    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.ai_status == JobStatus.DONE, ticket.ai_error
    assert ticket.category.slug in {c.slug for c in ticket_categories} and ticket.title and ticket.summary
    assert ticket.ai_attempts == 1




@pytest.mark.django_db(transaction=True)
def test_a_chat_answer_streams_through_redis_to_sse(llm_backend, client, demo_knowledge, monkeypatch):
    monkeypatch.setattr(llm_answer_chat_turn, "delay", lambda turn_id: None)  # answered below, in a thread
    asked = client.post(reverse("chat-api-ask"), {"question": "How long does the GloTech headlamp take to charge?"},
                        content_type="application/json").json()

    def answer():
        try:
            llm_answer_chat_turn.apply(args=[asked["id"]])
        finally:
            connection.close()

    worker = threading.Thread(target=answer)
    worker.start()
    events = sse_events(client.get(asked["events_url"], HTTP_ACCEPT="text/event-stream"))
    worker.join(timeout=120)

    kinds = [e["event"] for e in events]
    # Sources first, then only checked sentences (none when the small model's claims fail the checks:
    # the answer is then the abstention), then done with the whole answer.
    assert kinds[0] == "sources" and kinds[-1] == "done", kinds
    assert set(kinds) <= {"sources", "instant", "sentence", "done"}, kinds
    turn = ChatTurn.objects.get(pk=asked["id"])
    assert turn.status == JobStatus.DONE and turn.answer == events[-1]["answer"] and turn.answer.strip()


@pytest.mark.django_db
def test_a_data_question_gets_its_sql_written(llm_backend, django_user_model, monkeypatch):
    monkeypatch.setattr("support.analytics.ask.GENERATION_SECONDS", 600)  # a busy 2-core machine
    asked = DataQuestion.objects.create(asked_by=django_user_model.objects.create_superuser(email="boss@example.com", password="pw"),
                                        question="How many tickets are open?")

    llm_data_question_answer.apply(args=[asked.pk])

    asked.refresh_from_db()
    assert asked.is_finished and asked.model_name == "smollm2-135m"
    assert "could not write a query" not in asked.error, asked.error  # the model answered; the query may still be refused
    assert asked.sql and asked.seconds_generate > 0


# --- the inference server is down: the durable paths keep everything -------------------------------

DEAD_URL = "http://127.0.0.1:8176/v1"  # nothing listens there


@pytest.mark.django_db
def test_triage_while_the_server_is_down_is_retried_then_recorded(customer, ticket_categories, no_enqueue, settings, monkeypatch):
    use_openai_backend(settings, monkeypatch, DEAD_URL, retries=0)
    ticket = ticket_create(customer=customer, body="My stove leaks gas at the valve.")

    llm_triage_ticket.apply(args=[ticket.pk])  # apply() runs the retries eagerly in this process

    ticket.refresh_from_db()
    assert ticket.ai_status == JobStatus.FAILED and "GenerationUnavailable" in ticket.ai_error
    assert ticket.ai_attempts == llm_triage_ticket.max_retries + 1
    assert ticket.messages.get().body == "My stove leaks gas at the valve."  # kept, for the sweeper or an agent


@pytest.mark.django_db
def test_a_chat_turn_while_the_server_is_down_fails_retryably(client, demo_knowledge, settings, monkeypatch):
    use_openai_backend(settings, monkeypatch, DEAD_URL, retries=0)
    monkeypatch.setattr(llm_answer_chat_turn, "delay", lambda turn_id: None)
    asked = client.post(reverse("chat-api-ask"), {"question": "How long does the GloTech headlamp take to charge?"},
                        content_type="application/json").json()

    llm_answer_chat_turn.apply(args=[asked["id"]])

    turn = ChatTurn.objects.get(pk=asked["id"])
    assert turn.status == JobStatus.FAILED and "GenerationUnavailable" in turn.error
    events = sse_events(client.get(asked["events_url"]))
    assert events[-1]["event"] == "failed" and events[-1]["retryable"] is True
