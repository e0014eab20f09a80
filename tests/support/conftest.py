import json
from pathlib import Path
from unittest import mock

import pytest

from llm.services.embed import embed_texts as _real_embed_texts
from tests.factories import AgentFactory, UserFactory

SEED = Path(__file__).resolve().parents[2] / "support" / "demo_data" / "ticket_categories.json"
_CHUNK_VECTORS: dict[str, list[float]] = {}


def _embed_texts_cached(*, texts, batch_size=32):
    """The real MiniLM vectors, computed once per test session per text (indexing the demo knowledge
    base takes ~10 s on 2 cores; tests that need it would otherwise pay that each time)."""
    import numpy as np

    missing = [text for text in dict.fromkeys(texts) if text not in _CHUNK_VECTORS]
    if missing:
        for text, vector in zip(missing, _real_embed_texts(texts=missing, batch_size=64), strict=True):
            _CHUNK_VECTORS[text] = vector
    return np.array([_CHUNK_VECTORS[text] for text in texts])


@pytest.fixture
def demo_knowledge(demo_catalog):
    """The demo policies and manuals, indexed as the embed queue would leave them (real vectors)."""
    from support.models import KnowledgeDocument
    from support.services.knowledge import document_index, knowledge_demo_ensure
    from support.tasks import embed_knowledge_document

    with mock.patch.object(embed_knowledge_document, "delay"):
        result = knowledge_demo_ensure()
    with mock.patch("llm.services.embed.embed_texts", side_effect=_embed_texts_cached):
        for document in KnowledgeDocument.objects.all():
            document_index(document_id=document.pk)
    assert not result.skipped
    return list(KnowledgeDocument.objects.all())


@pytest.fixture
def customer(db):
    return UserFactory(email="walker@example.com", first_name="Pat", last_name="Walker")


@pytest.fixture
def other_customer(db):
    return UserFactory(email="other@example.com", first_name="Sam", last_name="Other")


@pytest.fixture
def ticket_categories(db):
    """The default category set (a data migration seeds it; transactional tests flush it, so ensure it)."""
    from support.models import TicketCategory

    for row in json.loads(SEED.read_text()):
        TicketCategory.objects.get_or_create(slug=row["slug"], defaults={"name": row["name"], "description": row["description"]})
    return list(TicketCategory.objects.order_by("slug"))


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

    for task in (tasks.triage_ticket_due, tasks.llm_triage_ticket, tasks.embed_ticket):
        monkeypatch.setattr(task, "apply_async", record(task))
    return sent


@pytest.fixture
def answer_worker(monkeypatch):
    """A worker of its own with the default model (Qwen2.5-Coder-1.5B), on a queue of its own: chat
    answers must quote their passages exactly, which SmolLM2 (the session worker's model) cannot.
    Chat turns asked during the test are sent to it. Needs django_db(transaction=True)."""
    import os

    from support.tasks import llm_answer_chat_turn
    from tests.helpers import celery_worker_start, celery_worker_stop

    queue = f"chat-answers-{os.getpid()}"
    monkeypatch.setattr(llm_answer_chat_turn, "delay", lambda turn_id: llm_answer_chat_turn.apply_async((turn_id,), queue=queue))
    worker = celery_worker_start(queues=queue, llm_model="qwen2.5-coder-1.5b", name="answers",
                                 env={"LLM_TIMEOUT_SECONDS": "400"})
    yield worker
    celery_worker_stop(worker)
