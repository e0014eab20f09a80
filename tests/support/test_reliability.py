"""Nothing is lost and nothing is done twice: a worker SIGKILLed in the middle of triage, and the
broker (Redis) down while a customer files a ticket.

Each test runs its own worker process (tests.helpers.celery_worker_start); a shared session worker,
if one runs, stops consuming for the duration so that only the test's worker does the work.
"""

import os
import signal

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from config.celery import app
from core import embedded
from core.jobs import JobStatus
from support.models import Message, Ticket
from support.services.tickets import ticket_create
from support.services.triage import triage_sweep
from support.tasks import llm_triage_ticket, sweep_stale_triage
from tests.helpers import celery_worker_start, celery_worker_stop, wait_for

QUEUES = ("llm", "embed", "default")
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def other_workers_paused():
    """Workers other than the test's own stop consuming (and resume afterwards)."""
    others = [name for reply in (app.control.ping(timeout=1) or []) for name in reply]
    for queue in QUEUES:
        if others:
            app.control.cancel_consumer(queue, destination=others, reply=True)
    app.control.purge()
    yield
    for queue in QUEUES:
        if others:
            app.control.add_consumer(queue, destination=others, reply=True)


@pytest.fixture
def start_worker(other_workers_paused):
    started = []

    def start(name: str):
        process = celery_worker_start(database_name=connection.settings_dict["NAME"], name=f"{name}-reliability")
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            celery_worker_stop(process)


def _triaged(ticket_id: int, timeout: float = 240) -> Ticket:
    return wait_for(lambda: Ticket.objects.filter(pk=ticket_id, ai_status__in=[JobStatus.DONE, JobStatus.FAILED]).first(),
                    timeout=timeout, interval=0.5)


def test_a_worker_killed_mid_triage_is_recovered_by_the_sweeper_without_duplicates(start_worker, customer, ticket_categories):
    worker = start_worker("doomed")
    ticket = ticket_create(customer=customer, subject="Stove",
                           body="The burner of my propane stove will not light and I smell gas. What should I do?")
    wait_for(lambda: Ticket.objects.filter(pk=ticket.pk, ai_status=JobStatus.RUNNING).exists(), timeout=120, interval=0.05)
    stale_request = Ticket.objects.get(pk=ticket.pk).ai_requested_at

    os.killpg(worker.pid, signal.SIGKILL)  # the whole worker: main process and its pool child
    worker.wait(timeout=10)
    ticket.refresh_from_db()
    assert ticket.ai_status == JobStatus.RUNNING and ticket.ai_attempts == 1  # what a dead worker leaves

    start_worker("rescuer")
    assert triage_sweep(running_stale=__import__("datetime").timedelta(0))["requeued"] == 1
    done = _triaged(ticket.pk)

    assert done.ai_status == JobStatus.DONE, done.ai_error
    assert done.ai_attempts == 2 and done.title and done.category is not None
    # no duplicate effects: one ticket, one message, one confirmation e-mail
    assert Ticket.objects.filter(customer=customer).count() == 1
    assert Message.objects.filter(ticket=done).count() == 1
    assert len([m for m in mail.outbox if f"#{done.number}" in m.subject]) == 1
    # the killed run's message, redelivered later by the broker, changes nothing
    finished = done.ai_finished_at
    assert llm_triage_ticket.apply(args=[ticket.pk], kwargs={"requested_at": stale_request.isoformat()}).get() == "superseded"
    assert llm_triage_ticket.apply(args=[ticket.pk]).get() == "unchanged"
    done.refresh_from_db()
    assert done.ai_finished_at == finished and done.ai_attempts == 2


def test_a_ticket_filed_while_the_broker_is_down_is_saved_and_triaged_once_it_is_back(start_worker, client, customer,
                                                                                      ticket_categories):
    services, _, _ = embedded.from_settings()
    start_worker("survivor")
    client.force_login(customer)
    embedded.redis_stop(services)
    try:
        response = client.post(reverse("support:ticket-new"), {"subject": "Refund", "body": "Please refund my returned tent."})
        assert response.status_code == 302  # a normal answer: the request page
        ticket = Ticket.objects.get(customer=customer)
        assert client.get(response.url).status_code == 200
        ticket.refresh_from_db()
        assert ticket.ai_status == JobStatus.PENDING and ticket.ai_requested_at is None  # not sent: the sweeper will
    finally:
        embedded.redis_start(services)

    wait_for(lambda: app.control.ping(timeout=1), timeout=60, interval=1)  # the worker reconnected
    sweep_stale_triage.delay()  # what beat does each minute, through the worker
    done = _triaged(ticket.pk)

    assert done.ai_status == JobStatus.DONE, done.ai_error
    assert done.ai_attempts == 1 and done.summary
    assert Message.objects.filter(ticket=done).count() == 1 and Ticket.objects.filter(customer=customer).count() == 1
    wait_for(lambda: Ticket.objects.filter(pk=ticket.pk, embedding__isnull=False).exists(), timeout=120, interval=1)
