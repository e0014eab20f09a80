import json
from pathlib import Path

import pytest

from tests.factories import AgentFactory, UserFactory

SEED = Path(__file__).resolve().parents[2] / "support" / "demo_data" / "ticket_categories.json"


@pytest.fixture
def ticket_categories(db):
    """The default category set (a data migration seeds it; transactional tests flush it, so ensure it)."""
    from support.models import TicketCategory

    for row in json.loads(SEED.read_text()):
        TicketCategory.objects.get_or_create(slug=row["slug"], defaults={"name": row["name"], "description": row["description"]})
    return list(TicketCategory.objects.order_by("slug"))


@pytest.fixture
def customer(db):
    return UserFactory(email="dana@example.com", first_name="Dana")


@pytest.fixture
def other_customer(db):
    return UserFactory(email="marcus@example.com", first_name="Marcus")


@pytest.fixture
def agent(db):
    return AgentFactory(email="maya@example.com", first_name="Maya")


@pytest.fixture
def no_enqueue(monkeypatch):
    """Record what would be sent to the broker instead of sending it (unit tests of one piece)."""
    sent = []

    def record(task):
        def apply_async(args=None, kwargs=None, **options):
            sent.append((task.name, tuple(args or ()), dict(kwargs or {}), options))
        return apply_async

    from support import tasks

    for task in (tasks.llm_triage_ticket, tasks.embed_ticket):
        monkeypatch.setattr(task, "apply_async", record(task))
    return sent
