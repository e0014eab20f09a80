"""Triage through the real Celery worker (SmolLM2 on the llm queue, MiniLM on the embed queue)."""

import pytest

from core.jobs import JobStatus
from support.models import Ticket
from support.services.tickets import ticket_create
from tests.helpers import wait_for


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_new_ticket_is_triaged_and_embedded_by_the_worker(celery_worker_process, customer, ticket_categories):
    ticket = ticket_create(customer=customer, subject="Headlamp",
                           body="My GloTech headlamp stopped charging after two weeks. I need it for a trip on Friday!")

    done = wait_for(lambda: Ticket.objects.filter(pk=ticket.pk, ai_status__in=[JobStatus.DONE, JobStatus.FAILED],
                                                  embedding__isnull=False).first(), timeout=240, interval=1)

    assert done.ai_status == JobStatus.DONE, done.ai_error
    assert done.title and done.summary and done.category is not None
    assert done.sentiment and done.urgency and done.language
    assert done.ai_attempts == 1 and done.ai_input_hash and done.ai_seconds > 0
