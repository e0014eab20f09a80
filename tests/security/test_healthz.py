"""Low: /healthz named hosts and errors to anyone, and asked every worker over the broker on every
hit. On today's main the public body held every check, and each hit broadcast to the workers."""

import pytest

from config.celery import app
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def test_the_public_gets_the_status_only(client):
    response = client.get("/healthz")

    assert set(response.json()) == {"status"}
    assert response.json()["status"] in ("ok", "down")


def test_staff_get_every_check(client):
    client.force_login(AgentFactory())

    body = client.get("/healthz").json()

    assert {"status", "down", "checks"} <= set(body) and body["checks"]["database"]["ok"] is True


def test_the_monitoring_token_gets_every_check_and_a_wrong_one_does_not(client, settings):
    settings.HEALTHZ_TOKEN = "s3cret-monitor-token"

    right = client.get("/healthz", HTTP_AUTHORIZATION="Bearer s3cret-monitor-token").json()
    wrong = client.get("/healthz", HTTP_AUTHORIZATION="Bearer guess").json()

    assert "checks" in right and set(wrong) == {"status"}


def test_an_unset_token_opens_nothing(client, settings):
    settings.HEALTHZ_TOKEN = ""

    assert set(client.get("/healthz", HTTP_AUTHORIZATION="Bearer ").json()) == {"status"}


def test_hits_within_the_cache_period_ask_the_workers_once(client, settings, monkeypatch):
    """A unit test of the caching: the broadcast is faked (every queue answered), and counted."""
    settings.HEALTH_WORKERS_CACHE_SECONDS = 30
    asked = []

    class Replies:
        def active_queues(self):
            return {"w@host": [{"name": "chat"}, {"name": "llm"}, {"name": "embed"}, {"name": "default"}]}

    def counting_inspect(*args, **kwargs):
        asked.append(1)
        return Replies()

    monkeypatch.setattr(app.control, "inspect", counting_inspect)

    statuses = [client.get("/healthz").status_code for _ in range(3)]

    assert statuses == [200, 200, 200] and len(asked) == 1
