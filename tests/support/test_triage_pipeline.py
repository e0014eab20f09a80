"""The durable triage pipeline in one process: request on commit, idempotent run, debounce,
agent corrections kept, order detection, failures recorded, the sweeper.

The SLM is replaced by a canned TriageResult here (a unit test of the pipeline); the real model
through a real worker is exercised in test_triage_worker.py.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.jobs import JobStatus
from llm.services.common import LLMInputError
from llm.services.triage import TriageResult
from support.models import Ticket, TicketCorrection
from support.services.tickets import ticket_correct, ticket_create, ticket_customer_reply
from support.services.triage import ticket_triage_due, ticket_triage_request, ticket_triage_run, triage_sweep
from support.tasks import llm_triage_ticket
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def canned(category="returns-refunds", sentiment="negative", urgency="normal", title="Return a tent") -> TriageResult:
    return TriageResult(category=category, category_confidence=0.8, category_method="slm", sentiment=sentiment,
                        sentiment_score=-0.4, urgency=urgency, urgency_reason="No deadline", title=title,
                        summary="Customer wants to return a tent. Next: agent sends a label.", language="en", seconds=0.1)


@pytest.fixture
def fake_triage(monkeypatch):
    calls = []

    def triage_ticket(*, messages, categories, **kwargs):
        calls.append(messages)
        return fake_triage.result

    fake_triage = type("FakeTriage", (), {"result": canned(), "calls": calls})
    monkeypatch.setattr("llm.services.triage.triage_ticket", triage_ticket)
    return fake_triage


def test_new_ticket_enqueues_triage_and_embedding_only_after_commit(customer, ticket_categories, no_enqueue,
                                                                    django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ticket = ticket_create(customer=customer, body="My tent pole snapped.")
    assert no_enqueue == []  # nothing sent before commit
    for callback in callbacks:
        callback()
    names = sorted(name for name, *_ in no_enqueue)
    assert names == ["support.tasks.embed_ticket", "support.tasks.triage_ticket_due"]
    due = next(item for item in no_enqueue if item[0] == "support.tasks.triage_ticket_due")
    assert due[1] == (ticket.pk,) and due[3]["countdown"] > 0, "the debounce waits on the default queue"

    assert ticket_triage_due(ticket_id=ticket.pk, **due[2]) is True
    triage = next(item for item in no_enqueue if item[0] == "support.tasks.llm_triage_ticket")
    assert triage[1] == (ticket.pk,) and triage[2] == due[2] and triage[3].get("countdown") is None, \
        "nothing with a countdown goes to the llm queue (its worker would hold it ahead of chat turns)"
    ticket.refresh_from_db()
    assert ticket.ai_status == JobStatus.PENDING and ticket.ai_requested_at is not None


def test_run_fills_the_ai_fields_and_a_second_run_changes_nothing(customer, ticket_categories, no_enqueue, fake_triage):
    ticket = ticket_create(customer=customer, body="I want to return my tent, it is too small.")
    assert ticket_triage_run(ticket_id=ticket.pk) == "done"
    ticket.refresh_from_db()
    assert (ticket.category.slug, ticket.sentiment, ticket.urgency, ticket.title) == ("returns-refunds", "negative", "normal", "Return a tent")
    assert ticket.ai_status == JobStatus.DONE and ticket.ai_attempts == 1 and ticket.ai_input_hash
    finished = ticket.ai_finished_at

    assert ticket_triage_run(ticket_id=ticket.pk) == "unchanged"
    ticket.refresh_from_db()
    assert ticket.ai_finished_at == finished and ticket.ai_attempts == 1 and len(fake_triage.calls) == 1


def test_a_new_customer_message_is_triaged_again(customer, ticket_categories, no_enqueue, fake_triage):
    ticket = ticket_create(customer=customer, body="I want to return my tent.")
    ticket_triage_run(ticket_id=ticket.pk)
    ticket_customer_reply(ticket=ticket, customer=customer, body="Actually it arrived broken!")
    ticket.refresh_from_db()
    assert ticket.ai_status == JobStatus.PENDING
    fake_triage.result = canned(category="defect-warranty")
    assert ticket_triage_run(ticket_id=ticket.pk) == "done"
    ticket.refresh_from_db()
    assert ticket.category.slug == "defect-warranty" and len(fake_triage.calls[-1]) == 2


def test_a_burst_of_messages_gives_one_run(customer, ticket_categories, no_enqueue, fake_triage,
                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_create(customer=customer, body="Hello")
    for body in ("my order", "is late"):
        with django_capture_on_commit_callbacks(execute=True):
            ticket_customer_reply(ticket=ticket, customer=customer, body=body)
    requests = [item[2]["requested_at"] for item in no_enqueue if item[0] == "support.tasks.triage_ticket_due"]
    assert len(requests) == 3
    assert [ticket_triage_due(ticket_id=ticket.pk, requested_at=stamp) for stamp in requests] == [False, False, True]
    assert [item[2]["requested_at"] for item in no_enqueue if item[0] == "support.tasks.llm_triage_ticket"] == requests[-1:]
    results = [ticket_triage_run(ticket_id=ticket.pk, requested_at=stamp) for stamp in requests]
    assert results == ["superseded", "superseded", "done"]  # a run superseded after it was sent steps aside too
    assert len(fake_triage.calls) == 1 and len(fake_triage.calls[0]) == 3


def test_an_agent_correction_is_never_overwritten(customer, agent, ticket_categories, no_enqueue, fake_triage):
    ticket = ticket_create(customer=customer, body="Where is my parcel?")
    ticket_triage_run(ticket_id=ticket.pk)
    ticket.refresh_from_db()
    correction = ticket_correct(ticket=ticket, agent=agent, field="category", value="order-status")
    assert (correction.from_value, correction.to_value, correction.corrected_by) == ("returns-refunds", "order-status", agent)
    assert "category" in ticket.agent_fields

    ticket_triage_request(ticket, force=True)
    assert ticket_triage_run(ticket_id=ticket.pk) == "done"
    ticket.refresh_from_db()
    assert ticket.category.slug == "order-status" and ticket.category_method == "agent"
    assert len(fake_triage.calls) == 2  # forced: it ran although the thread did not change
    assert TicketCorrection.objects.filter(ticket=ticket).count() == 1


def test_only_the_customers_own_order_number_is_detected(customer, other_customer, ticket_categories, no_enqueue, fake_triage):
    own = OrderFactory(user=customer, number="TH-111222")
    OrderFactory(user=other_customer, number="TH-333444")
    ticket = ticket_create(customer=customer, body="Order th-333444 and TH-111222 both late?")
    ticket_triage_run(ticket_id=ticket.pk)
    ticket.refresh_from_db()
    assert ticket.order == own

    foreign = ticket_create(customer=customer, body="What about TH-333444?")
    ticket_triage_run(ticket_id=foreign.pk)
    foreign.refresh_from_db()
    assert foreign.order is None


def test_bad_input_ends_visibly_failed_without_retry(customer, ticket_categories, no_enqueue, monkeypatch):
    def refuse(**kwargs):
        raise LLMInputError("messages[0].body is empty.")

    monkeypatch.setattr("llm.services.triage.triage_ticket", refuse)
    ticket = ticket_create(customer=customer, body="Hi")
    assert llm_triage_ticket.apply(args=[ticket.pk]).get() == "failed"
    ticket.refresh_from_db()
    assert ticket.ai_status == JobStatus.FAILED and "empty" in ticket.ai_error


def test_a_transient_error_is_retried_then_recorded_as_failed(customer, ticket_categories, no_enqueue, monkeypatch):
    from llm.engine import GenerationTimeout

    def slow(**kwargs):
        raise GenerationTimeout("generation ran past 90 s")

    monkeypatch.setattr("llm.services.triage.triage_ticket", slow)
    ticket = ticket_create(customer=customer, body="Hi")
    # apply() runs retries eagerly in this process: every attempt fails, the last one is recorded.
    result = llm_triage_ticket.apply(args=[ticket.pk])
    ticket.refresh_from_db()
    assert result.get(propagate=False) == "failed" or result.failed()
    assert ticket.ai_status == JobStatus.FAILED and "GenerationTimeout" in ticket.ai_error
    assert ticket.ai_attempts == llm_triage_ticket.max_retries + 1


def test_the_sweeper_resends_stale_work_and_gives_up_after_the_attempts(customer, ticket_categories, no_enqueue,
                                                                        django_capture_on_commit_callbacks):
    long_ago = timezone.now() - timedelta(hours=1)
    pending = ticket_create(customer=customer, body="pending, broker was down")
    running = ticket_create(customer=customer, body="running, worker died")
    exhausted = ticket_create(customer=customer, body="keeps dying")
    fresh = ticket_create(customer=customer, body="just asked")
    Ticket.objects.filter(pk=pending.pk).update(ai_requested_at=long_ago)
    Ticket.objects.filter(pk=running.pk).update(ai_status=JobStatus.RUNNING, ai_started_at=long_ago, ai_attempts=1)
    Ticket.objects.filter(pk=exhausted.pk).update(ai_status=JobStatus.RUNNING, ai_started_at=long_ago, ai_attempts=5)

    with django_capture_on_commit_callbacks(execute=True):
        counts = triage_sweep()

    assert counts["requeued"] == 2 and counts["failed"] == 1
    resent = sorted(args[0] for name, args, *_ in no_enqueue if name == "support.tasks.llm_triage_ticket")
    assert resent == sorted([pending.pk, running.pk])
    assert fresh.pk not in resent
    exhausted.refresh_from_db()
    assert exhausted.ai_status == JobStatus.FAILED and "attempts" in exhausted.ai_error


def test_an_agent_reply_refreshes_the_summary_debounced(customer, agent, ticket_categories, no_enqueue, fake_triage,
                                                        django_capture_on_commit_callbacks):
    from support.services.tickets import ticket_agent_reply
    from support.services.triage import AGENT_REPLY_DEBOUNCE_SECONDS

    ticket = ticket_create(customer=customer, body="I want to return my tent.")
    ticket_triage_run(ticket_id=ticket.pk)
    with django_capture_on_commit_callbacks(execute=True):
        ticket_agent_reply(ticket=ticket, agent=agent, body="Here is your return label.")

    triage = [item for item in no_enqueue if item[0] == "support.tasks.triage_ticket_due"]
    assert triage[-1][3]["countdown"] == AGENT_REPLY_DEBOUNCE_SECONDS
    assert ticket_triage_run(ticket_id=ticket.pk) == "done"  # the thread changed: the summary is written again
    assert fake_triage.calls[-1][-1] == {"author": "agent", "body": "Here is your return label."}


def test_an_internal_note_requests_nothing(customer, agent, ticket_categories, no_enqueue, fake_triage,
                                           django_capture_on_commit_callbacks):
    from support.services.tickets import ticket_agent_reply

    ticket = ticket_create(customer=customer, body="I want to return my tent.")
    no_enqueue.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_agent_reply(ticket=ticket, agent=agent, body="Customer is a regular.", internal=True)
    assert no_enqueue == []
