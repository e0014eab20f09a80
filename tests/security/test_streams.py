"""High 1: one visitor could stall the web tier by holding answer streams (and JSON waits) open.

Against a real server (gunicorn + uvicorn workers). On today's main the server was gunicorn gthread
(2 workers x 16 threads): 40 open streams took every thread, and nothing capped them.
"""

import json
import time
import urllib.request

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse

from core.jobs import JobStatus
from core.ratelimit import async_redis
from support.models import ChatTurn
from support.selectors.chat_events import chat_turn_events
from support.services.chat_events import redis_client, turn_events_key
from support.tasks import llm_answer_chat_turn
from tests.security.conftest import SERVER_CAPS, Stream, anonymous_visitor, events_path, pending_turn

pytestmark = pytest.mark.django_db(transaction=True)


def _page_status(address, path="/") -> int:
    with urllib.request.urlopen(f"http://{address[0]}:{address[1]}{path}", timeout=30) as response:
        return response.status


def test_pages_still_answer_while_more_streams_are_open_than_the_old_server_had_threads(web_server):
    streams = []
    try:
        for n in range(40):  # each a different visitor behind the proxy, within every cap
            session = anonymous_visitor()
            streams.append(Stream(web_server, events_path(pending_turn(session)), session_key=session,
                                  forwarded_for=f"10.1.{n}.1"))
        assert [s.status for s in streams] == [200] * 40

        assert _page_status(web_server) == 200
    finally:
        for stream in streams:
            stream.close()


def test_open_streams_are_capped_per_turn_and_a_closed_one_frees_its_slot(web_server):
    session = anonymous_visitor()
    turn_id = pending_turn(session)
    cap = SERVER_CAPS["CHAT_STREAMS_PER_TURN"]
    streams = [Stream(web_server, events_path(turn_id), session_key=session, forwarded_for="10.2.0.1") for _ in range(cap)]
    try:
        refused = Stream(web_server, events_path(turn_id), session_key=session, forwarded_for="10.2.0.1")
        assert [s.status for s in streams] == [200] * cap and refused.status == 429
        refused.close()

        streams.pop().close()  # the server notices the disconnect and releases the slot
        deadline, status = time.monotonic() + 15, 429
        while status == 429 and time.monotonic() < deadline:
            retry = Stream(web_server, events_path(turn_id), session_key=session, forwarded_for="10.2.0.1")
            status = retry.status
            streams.append(retry)
            time.sleep(0.3)
        assert status == 200
    finally:
        for stream in streams:
            stream.close()


def test_open_streams_are_capped_per_session_and_per_client_ip(web_server):
    streams = []
    try:
        session = anonymous_visitor()
        for _ in range(SERVER_CAPS["CHAT_STREAMS_PER_SESSION"]):
            streams.append(Stream(web_server, events_path(pending_turn(session)), session_key=session, forwarded_for="10.3.0.1"))
        over_session = Stream(web_server, events_path(pending_turn(session)), session_key=session, forwarded_for="10.3.0.2")
        streams.append(over_session)
        other = anonymous_visitor()  # a new session from the first address: that address is at its cap next
        streams.append(Stream(web_server, events_path(pending_turn(other)), session_key=other, forwarded_for="10.3.0.1"))
        fifth = anonymous_visitor()
        over_ip = Stream(web_server, events_path(pending_turn(fifth)), session_key=fifth, forwarded_for="10.3.0.1")
        streams.append(over_ip)
        elsewhere = Stream(web_server, events_path(pending_turn(fifth)), session_key=fifth, forwarded_for="10.3.0.9")
        streams.append(elsewhere)

        assert [s.status for s in streams[:3]] == [200, 200, 200]
        assert over_session.status == 429  # a 4th of the session, though from a fresh address
        assert streams[4].status == 200  # a 4th stream from 10.3.0.1 (another visitor): the per-IP cap is 4
        assert over_ip.status == 429
        assert elsewhere.status == 200  # the same visitor from another address is not blocked by that one
    finally:
        for stream in streams:
            stream.close()


def test_another_visitors_stream_is_not_found(web_server):
    turn_id = pending_turn(anonymous_visitor())

    stranger = Stream(web_server, events_path(turn_id), session_key=anonymous_visitor())
    stranger.close()

    assert stranger.status == 404


def test_every_event_kind_is_replayed_then_forwarded_in_order():
    """New kinds from the answer worker (issue 11) pass through untouched."""
    turn_id = pending_turn(anonymous_visitor())
    events = [{"i": 0, "type": "sources", "sources": []}, {"i": 1, "type": "citation_check", "removed": 1},
              {"i": 2, "type": "token", "text": "Hi"}, {"i": 3, "type": "done", "answer": "Hi"}]
    key = turn_events_key(turn_id)
    redis_client().rpush(key, *[json.dumps(e) for e in events])

    async def collect():
        client = async_redis()
        try:
            return [event async for event in chat_turn_events(turn_id=turn_id, client=client, max_seconds=5)]
        finally:
            await client.aclose()

    try:
        assert async_to_sync(collect)() == events
    finally:
        redis_client().delete(key)


# --- JSON mode: bounded, and not for anonymous visitors -------------------------------------------

@pytest.mark.timeout(60)
def test_anonymous_visitors_cannot_hold_a_json_wait(client, monkeypatch):
    monkeypatch.setattr(llm_answer_chat_turn, "delay", lambda pk: None)

    response = client.post(reverse("chat-api-ask"), {"question": "Do you ship to Canada?", "mode": "json"},
                           content_type="application/json")

    assert response.status_code == 400 and "stream mode" in json.dumps(response.json())
    assert not ChatTurn.objects.exists()


@pytest.mark.timeout(60)
def test_a_json_wait_ends_after_its_bound_with_the_turn_to_follow(client, settings, monkeypatch):
    from tests.factories import UserFactory

    monkeypatch.setattr(llm_answer_chat_turn, "delay", lambda pk: None)  # nobody answers
    settings.CHAT_JSON_WAIT_SECONDS = 2
    client.force_login(UserFactory())

    response = client.post(reverse("chat-api-ask"), {"question": "Do you ship to Canada?", "mode": "json"},
                           content_type="application/json")

    assert response.status_code == 202 and response.json()["status"] == JobStatus.PENDING
    assert response.json()["events_url"]
