"""Fixtures of the data-questions/permissions/uploads part of the attack suite (imported by its modules)."""

import pytest

from tests.factories import AgentFactory, UserFactory


@pytest.fixture
def customer(db):
    return UserFactory(email="walker@example.com")


@pytest.fixture
def agent(db):
    return AgentFactory(email="maya@example.com")


@pytest.fixture
def shop_admin(db):
    return UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def quiet_queue(monkeypatch):
    """Record what would be sent to the broker instead of sending it (unit tests of one piece)."""
    sent = []
    from eshop.tasks import embed_product
    from support.tasks import embed_knowledge_document, embed_ticket, llm_answer_chat_turn, llm_triage_ticket

    for task in (embed_product, embed_knowledge_document, embed_ticket, llm_answer_chat_turn, llm_triage_ticket):
        monkeypatch.setattr(task, "apply_async", lambda args=None, kwargs=None, _name=task.name, **options: sent.append((_name, tuple(args or ()))))
    return sent
