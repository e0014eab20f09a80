"""Reading chat turns: their event stream (replay + live), history, ownership."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from django.conf import settings
from django.db.models import QuerySet

from support.models import ChatTurn, Conversation
from support.models.chat import TurnStatus
from support.services.chat import (
    ANSWER_FAILED,
    chat_turns_fail_stale,
    redis_client,
    turn_channel,
    turn_events_key,
)

STREAM_MAX_SECONDS = 300  # an SSE response ends after this; the browser reconnects and replays
LIVENESS_CHECK_SECONDS = 3.0
TERMINAL = {"done", "failed"}


def chat_turn_get_own(*, turn_id, user, session_key: str) -> ChatTurn | None:
    """The turn if the requester owns its conversation (user, or session when anonymous); else None."""
    try:
        turn_id = int(turn_id)
    except (TypeError, ValueError):
        return None
    turns = ChatTurn.objects.select_related("conversation")
    if user is not None and user.is_authenticated:
        return turns.filter(pk=turn_id, conversation__user=user).first()
    if not session_key:
        return None
    return turns.filter(pk=turn_id, conversation__user__isnull=True, conversation__session_key=session_key).first()


def conversation_turns(*, conversation: Conversation) -> QuerySet[ChatTurn]:
    return conversation.turns.order_by("created_at", "id")


def conversation_list_own(*, user, session_key: str) -> QuerySet[Conversation]:
    if user is not None and user.is_authenticated:
        return Conversation.objects.filter(user=user).select_related("ticket").order_by("-updated_at")
    return Conversation.objects.filter(user__isnull=True, session_key=session_key or "-").select_related("ticket").order_by("-updated_at")


def _stored_events(turn: ChatTurn) -> list[dict]:
    """A finished turn's events rebuilt from the database (the Redis list expired or was lost)."""
    events = [{"type": "sources", "sources": turn.sources}]
    if turn.status == TurnStatus.DONE:
        events.append({"type": "done", "answer": turn.answer, "abstained": turn.abstained, "offer_human": turn.abstained})
    else:
        events.append({"type": "failed", "error": ANSWER_FAILED, "retryable": True})
    return events


def chat_turn_events(*, turn: ChatTurn, max_seconds: float = STREAM_MAX_SECONDS,
                     poll_seconds: float = 1.0) -> Iterator[dict]:
    """Every event of the turn's current attempt, in order: first what already happened, then live.

    Subscribes before reading the stored list, so an event is either in the list or arrives on the
    channel (numbered, duplicates skipped). Ends after `done` or `failed`. While waiting, it checks
    about every LIVENESS_CHECK_SECONDS whether the worker is gone (chat_turns_fail_stale) and yields
    {"type": "ping"} so the connection is kept alive; after `max_seconds` it ends without a terminal
    event (the client reconnects).
    """
    client = redis_client()
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(turn_channel(turn.pk))
    try:
        seen = 0
        for raw in client.lrange(turn_events_key(turn.pk), 0, -1):
            event = json.loads(raw)
            seen = event["i"] + 1
            yield event
            if event["type"] in TERMINAL:
                return
        turn.refresh_from_db(fields=["status", "answer", "sources", "abstained"])
        if turn.status in (TurnStatus.DONE, TurnStatus.FAILED) and seen == 0:
            yield from _stored_events(turn)
            return
        started = checked = time.monotonic()
        while time.monotonic() - started < max_seconds:
            message = pubsub.get_message(timeout=poll_seconds)
            if message is not None and message.get("type") == "message":
                event = json.loads(message["data"])
                if event["i"] < seen:
                    continue
                seen = event["i"] + 1
                yield event
                if event["type"] in TERMINAL:
                    return
                continue
            if time.monotonic() - checked >= LIVENESS_CHECK_SECONDS:
                checked = time.monotonic()
                chat_turns_fail_stale()  # publishes `failed` for a dead worker's turn, received next loop
                turn.refresh_from_db(fields=["status", "answer", "sources", "abstained"])
                if turn.status in (TurnStatus.DONE, TurnStatus.FAILED) and not client.exists(turn_events_key(turn.pk)):
                    yield from _stored_events(turn)
                    return
                yield {"type": "ping", "status": turn.status}
    finally:
        pubsub.close()


def chat_turn_wait(*, turn: ChatTurn, timeout: float | None = None) -> ChatTurn:
    """Block until the turn has ended (JSON mode of the API) or the timeout passed; the fresh row."""
    timeout = timeout or settings.CHAT_QUEUE_TIMEOUT_SECONDS + 120
    for event in chat_turn_events(turn=turn, max_seconds=timeout):
        if event["type"] in TERMINAL:
            break
    turn.refresh_from_db()
    return turn
