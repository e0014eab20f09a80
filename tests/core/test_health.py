import pytest
from django.test import override_settings

from core.models import QueueHeartbeat
from core.tasks import queue_heartbeat
from tests.helpers import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_healthz_is_green_with_a_real_worker(client, settings, celery_worker_process):
    settings.HEALTHZ_TOKEN = "monitor"
    response = client.get("/healthz", HTTP_AUTHORIZATION="Bearer monitor")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["pgvector"]["ok"] is True
    assert set(body["checks"]["workers"]["queues"]) == {"chat", "llm", "embed", "default"}
    assert all(body["checks"]["workers"]["queues"].values())


def test_round_trip_web_broker_worker_database(celery_worker_process):
    """A task sent from this process reaches the real worker, which writes to the database."""
    for queue in ("llm", "embed", "default"):
        queue_heartbeat.apply_async(args=(queue,), queue=queue)

    rows = wait_for(lambda: QueueHeartbeat.objects.count() == 3 and list(QueueHeartbeat.objects.all()))

    assert {row.queue for row in rows} == {"llm", "embed", "default"}
    assert all(row.worker.startswith("test-") for row in rows)


def test_healthz_names_redis_and_workers_when_the_broker_is_down(client):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0", HEALTHZ_TOKEN="monitor"):
        response = client.get("/healthz", HTTP_AUTHORIZATION="Bearer monitor")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["down"] == ["redis", "workers"]
    assert "Connection" in body["checks"]["redis"]["error"]
    assert body["checks"]["database"]["ok"] is True


def test_tasks_are_routed_to_their_queues_by_name():
    from config.celery import app

    router = app.amqp.router
    assert router.route({}, "llm.tasks.llm_triage_messages_task")["queue"].name == "llm"
    assert router.route({}, "llm.tasks.embed_texts_task")["queue"].name == "embed"
    assert router.route({}, "core.tasks.queue_heartbeat")["queue"].name == "default"
