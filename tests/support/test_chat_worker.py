"""The chat end to end through the real worker (llm queue, SmolLM2), Redis pub/sub and the SSE endpoint."""


import pytest
from django.urls import reverse

from core.jobs import JobStatus
from support.models import ChatTurn
from tests.helpers import sse_events

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_question_streams_sources_then_tokens_then_the_checked_answer(client, demo_knowledge, celery_worker_process):
    asked = client.post(reverse("chat-api-ask"), {"question": "How long does the GloTech headlamp take to charge?"},
                        content_type="application/json")
    assert asked.status_code == 202, asked.content
    turn_id = asked.json()["id"]

    events = sse_events(client.get(asked.json()["events_url"], HTTP_ACCEPT="text/event-stream"))

    kinds = [e["event"] for e in events]
    assert kinds[0] == "sources" and kinds[-1] == "done", kinds
    assert [e["i"] for e in events] == list(range(len(events)))
    sources = events[0]["sources"]
    assert sources and any(s["page"] and "GloTech" in s["title"] and s["url"].endswith(f"#page-{s['page']}") for s in sources)
    turn = ChatTurn.objects.get(pk=turn_id)
    assert turn.status == JobStatus.DONE and turn.answer == events[-1]["answer"]
    assert turn.sources == sources and turn.attempts == 1 and turn.started_at <= turn.finished_at
    assert 0 <= turn.seconds_to_sources <= turn.seconds_total

    # a late subscriber (reconnect) gets the same events again, from the stored list
    assert sse_events(client.get(asked.json()["events_url"])) == events


def test_json_mode_returns_the_answer_with_its_sources_and_pages(client, customer, settings, demo_knowledge, celery_worker_process):
    client.force_login(customer)  # JSON mode is for signed-in and token clients
    settings.CHAT_JSON_WAIT_SECONDS = 300  # a busy 2-core machine: the bound is not what this test is about
    response = client.post(reverse("chat-api-ask"), {"question": "What is the charging time of the GloTech headlamp?",
                                                     "mode": "json"}, content_type="application/json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "done" and body["answer"]
    assert any(source["page"] for source in body["sources"])
    history = client.get(reverse("chat-api-conversation", args=[body["conversation"]])).json()
    assert [t["id"] for t in history["turns"]] == [body["id"]]
