"""A chat turn's answer as events in Redis: the one place that writes them (read by
support/selectors/chat_events.py).

A turn's answer is a sequence of numbered events that are both appended to a Redis list and
published on the turn's channel in one MULTI, so a late subscriber (the SSE endpoint) replays the
list and then follows the channel without gaps or duplicates. The event kinds, in order:

    sources   {"sources": [card, ...]}        the numbered sources (first, always)
    instant   {"label", "quote", "n", "url"}  the best-matching sentence of the best passage, labelled
                                              as a quote from its source ("From the X manual, page 7")
    sentence  {"text": "... [1]."}           one answer sentence that passed every grounding check;
                                              what the customer sees is only ever these
    token     {"text"}                        (older workers) a raw piece of the answer; no longer sent
    done      {"answer", "abstained", "cited", "sign_in", "offer_human"}   the checked answer
    failed    {"error", "retryable"}

`sources` and `instant` are published by the web process right after the question is committed
(support.services.chat.chat_turn_prepare: retrieval does not wait for the llm worker); the worker
(support.services.chat_answering) continues the numbering of the same attempt, or publishes them
itself when they are missing (a retry, a failed prepare). The database row is the durable record:
sources, answer, status, timings.
"""

from __future__ import annotations

import json

import redis
from django.conf import settings

EVENTS_TTL_SECONDS = 3600

_client: redis.Redis | None = None


def redis_client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3, socket_timeout=10,
                                       health_check_interval=30)
    return _client


def turn_channel(turn_id: int) -> str:
    return f"chat:turn:{turn_id}"


def turn_events_key(turn_id: int) -> str:
    return f"chat:turn:{turn_id}:events"


def turn_event_publish(*, turn_id: int, event: str) -> None:
    """Append one event (JSON, already numbered) to the turn's list and publish it, atomically."""
    key = turn_events_key(turn_id)
    pipe = redis_client().pipeline(transaction=True)
    pipe.rpush(key, event)
    pipe.expire(key, EVENTS_TTL_SECONDS)
    pipe.publish(turn_channel(turn_id), event)
    pipe.execute()


class TurnEventPublisher:
    """Numbered events of one attempt: appended to the turn's list and published, atomically."""

    def __init__(self, turn_id: int, attempt: int, *, resume: bool = False):
        """A fresh list for the attempt; with `resume`, continue the list when it already holds this
        attempt's first events (published by chat_turn_prepare): `resumed` tells which."""
        self.turn_id, self.attempt, self.n, self.resumed = turn_id, attempt, 0, False
        self.client = redis_client()
        key = turn_events_key(turn_id)
        if resume:
            first = self.client.lindex(key, 0)
            if first is not None and json.loads(first).get("attempt") == attempt:
                self.n, self.resumed = self.client.llen(key), True
                return
        self.client.delete(key)

    def __call__(self, kind: str, **data) -> None:
        event = json.dumps({"i": self.n, "attempt": self.attempt, "type": kind, **data})
        self.n += 1
        turn_event_publish(turn_id=self.turn_id, event=event)
