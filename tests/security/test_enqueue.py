"""Attack suite, background work (issue 13, Low): a broker outage at enqueue time gives no error and
loses nothing (core/jobs.py: the row stays pending, a sweeper sends it once the broker is back), and a
chat retry never deletes the events of its own new run.

The outage is real: the tests' embedded Redis (the broker) is shut down and started again; the work
is done by a real Celery worker (the session's). Services are called directly: with Redis down the
API's throttle (Redis cache) would fail first, which is not what is tested here.
"""

import contextlib
import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from config.celery import app
from core import embedded
from core.jobs import JobStatus
from eshop.models import Product
from eshop.services.catalog import product_update
from eshop.services.embeddings import product_embedding_sweep
from support.models import ChatTurn, Conversation, KnowledgeDocument
from support.services.chat import chat_turn_create, chat_turn_retry
from support.services.chat_events import redis_client, turn_events_key
from support.services.chat_liveness import chat_turns_fail_stale
from support.services.knowledge import document_upload, knowledge_index_sweep
from tests.factories import ProductFactory
from tests.helpers import wait_for


@contextlib.contextmanager
def broker_down(*, worker: bool = True):
    services, _, _ = embedded.from_settings()
    embedded.redis_stop(services)
    try:
        yield
    finally:
        embedded.redis_start(services)
        if worker:
            wait_for(lambda: app.control.ping(timeout=1), timeout=60, interval=1)  # the worker reconnected


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_knowledge_upload_while_the_broker_is_down_is_indexed_by_the_sweeper_once_it_is_back(celery_worker_process):
    with broker_down():
        document = document_upload(title="Gift cards", kind="policy", publish=True,
                                   uploaded_file=SimpleUploadedFile("gift.md", b"# Gift cards\n\nThey never expire."))
        document.refresh_from_db()
        assert document.status == JobStatus.PENDING

    assert knowledge_index_sweep(older_than=timedelta(0)) == 1  # what beat runs every two minutes

    indexed = wait_for(lambda: KnowledgeDocument.objects.filter(pk=document.pk, status=JobStatus.DONE).first(),
                       timeout=180, interval=0.5)
    assert indexed.chunks_total >= 1 and "never expire" in indexed.body


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_product_change_while_the_broker_is_down_is_embedded_by_the_sweeper_once_it_is_back(celery_worker_process):
    product = ProductFactory()
    Product.objects.filter(pk=product.pk).update(embedding=[0.0] * 383 + [1.0], embedding_hash="old")

    with broker_down():
        product_update(product=product, data={"description": "Now waterproof to 10 m."})
        assert Product.objects.get(pk=product.pk).embedding_hash == ""  # marked owed

    assert product_embedding_sweep(older_than=timedelta(0)) == 1

    embedded_ = wait_for(lambda: Product.objects.exclude(embedding_hash="").filter(pk=product.pk).first(), timeout=180, interval=0.5)
    assert embedded_.embedding_hash != "old" and list(embedded_.embedding)[-1] != 1.0


@pytest.mark.django_db(transaction=True)
def test_a_chat_question_while_the_broker_is_down_is_kept_then_failed_as_retryable():
    conversation = Conversation.objects.create(session_key="s" * 32)

    with broker_down(worker=False):
        turn = chat_turn_create(conversation=conversation, question="Do gift cards expire?")
        assert ChatTurn.objects.get(pk=turn.pk).status == JobStatus.PENDING

    assert chat_turns_fail_stale(now=timezone.now() + timedelta(hours=1)) == 1  # the stale-turn sweeper (beat)
    events = [json.loads(e) for e in redis_client().lrange(turn_events_key(turn.pk), 0, -1)]
    assert ChatTurn.objects.get(pk=turn.pk).status == JobStatus.FAILED and events[-1]["retryable"] is True


@pytest.mark.django_db(transaction=True)
def test_a_chat_retry_keeps_the_first_events_of_its_new_run(monkeypatch):
    from support.tasks import llm_answer_chat_turn

    conversation = Conversation.objects.create(session_key="s" * 32)
    turn = ChatTurn.objects.create(conversation=conversation, question="Do gift cards expire?", status=JobStatus.FAILED)
    key = turn_events_key(turn.pk)
    redis_client().rpush(key, json.dumps({"i": 0, "type": "failed"}))

    def worker_starts_at_once(*args, **kwargs):  # a fast worker: its first event lands as soon as the task is sent
        redis_client().rpush(key, json.dumps({"i": 1, "type": "sentence", "text": "From the worker."}))

    monkeypatch.setattr(llm_answer_chat_turn, "delay", worker_starts_at_once)
    monkeypatch.setattr(llm_answer_chat_turn, "apply_async", worker_starts_at_once)

    chat_turn_retry(turn=turn)

    # The old run's "failed" is gone; the new run's sources (published on commit by the web
    # process) and the worker's first event are both kept.
    types = [json.loads(e)["type"] for e in redis_client().lrange(key, 0, -1)]
    assert "failed" not in types and types[0] == "sources" and types[-1] == "sentence"
