"""A chat turn's events, replayed then live, on redis.asyncio: an open stream holds a socket and a
Redis subscription, never a thread, so hundreds of open streams leave the web tier free.

Used by the SSE endpoint (support/apis_chat_events.py) and by JSON mode (chat_turn_wait). Every
event kind the worker emits is passed on as it is (numbered by "i"; duplicates skipped).
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import AsyncIterator

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import connection

from core.jobs import JobStatus
from core.ratelimit import async_redis, stream_slots
from support.models import ChatTurn
from support.services.chat_events import turn_channel, turn_events_key
from support.services.chat_liveness import ANSWER_FAILED, chat_turns_fail_stale

STREAM_MAX_SECONDS = 300  # an SSE response ends after this; the browser reconnects and replays
LIVENESS_CHECK_SECONDS = 3.0  # a ping this often; the stale-turn sweep at most this often in all
STATUS_CHECK_SECONDS = 15.0  # the database row of a turn not started yet (no event list) is read this often
TERMINAL = {"done", "failed"}
SWEEP_LOCK_KEY = "chat:sweep-stale-turns"
FINISHED = (JobStatus.DONE, JobStatus.FAILED)


def _db_call(function, *args, **kwargs):
    """Run a database read or write and give the connection back: a stream lives for minutes and
    must not hold one of PostgreSQL's few connections in between (inside a test's transaction the
    connection stays)."""
    try:
        return function(*args, **kwargs)
    finally:
        if not connection.in_atomic_block:
            connection.close()


DB_GATES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per event loop: at most DB_CONCURRENCY stream database calls at once
DB_CONCURRENCY = 8


async def in_db(function, *args, **kwargs):
    """`function` in the request's thread, with a connection only for the call; at most
    DB_CONCURRENCY at once in this process, so a burst of streams opening cannot exhaust
    PostgreSQL's connections."""
    loop = asyncio.get_running_loop()
    gate = DB_GATES.get(loop)
    if gate is None:
        gate = DB_GATES[loop] = asyncio.Semaphore(DB_CONCURRENCY)
    async with gate:
        return await sync_to_async(_db_call)(function, *args, **kwargs)


def _turn_fresh(turn_id: int) -> ChatTurn | None:
    return ChatTurn.objects.filter(pk=turn_id).only("status", "answer", "sources", "abstained").first()


def _stored_events(turn: ChatTurn) -> list[dict]:
    """A finished turn's events rebuilt from the database (the Redis list expired or was lost)."""
    events = [{"type": "sources", "sources": turn.sources}]
    if turn.status == JobStatus.DONE:
        events.append({"type": "done", "answer": turn.answer, "abstained": turn.abstained, "offer_human": turn.abstained})
    else:
        events.append({"type": "failed", "error": ANSWER_FAILED, "retryable": True})
    return events


async def chat_turn_events(*, turn_id: int, client, max_seconds: float = STREAM_MAX_SECONDS,
                           poll_seconds: float = 1.0) -> AsyncIterator[dict]:
    """Every event of the turn's current attempt, in order: first what already happened, then live.

    Subscribes before reading the stored list, so an event is either in the list or arrives on the
    channel. Ends after `done` or `failed`. While waiting it yields {"type": "ping", "status": ...}
    about every LIVENESS_CHECK_SECONDS (keeps the connection alive), and at most one stream in the
    whole system runs the stale-turn sweep per interval (it publishes `failed` for a dead worker's
    turn, received here). After `max_seconds` it ends without a terminal event (the client reconnects).
    """
    key = turn_events_key(turn_id)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(turn_channel(turn_id))
    try:
        seen = 0
        for raw in await client.lrange(key, 0, -1):
            event = json.loads(raw)
            seen = event["i"] + 1
            yield event
            if event["type"] in TERMINAL:
                return
        turn = await in_db(_turn_fresh, turn_id)
        if turn is None:
            return
        if turn.status in FINISHED and seen == 0:
            for event in _stored_events(turn):
                yield event
            return
        status = turn.status
        loop = asyncio.get_running_loop()
        started = pinged = status_read = loop.time()
        while loop.time() - started < max_seconds:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=poll_seconds)
            if message is not None and message.get("type") == "message":
                event = json.loads(message["data"])
                if event["i"] < seen:
                    continue
                seen = event["i"] + 1
                yield event
                if event["type"] in TERMINAL:
                    return
                continue
            if loop.time() - pinged < LIVENESS_CHECK_SECONDS:
                continue
            pinged = loop.time()
            if await client.set(SWEEP_LOCK_KEY, 1, nx=True, ex=int(LIVENESS_CHECK_SECONDS)):
                await in_db(chat_turns_fail_stale)
            if await client.exists(key):
                status = JobStatus.RUNNING
            elif loop.time() - status_read >= STATUS_CHECK_SECONDS or seen:
                status_read = loop.time()
                turn = await in_db(_turn_fresh, turn_id)
                if turn is None:
                    return
                if turn.status in FINISHED:  # finished, but its list is gone: the row tells the end
                    for event in _stored_events(turn):
                        yield event
                    return
                status = turn.status
            yield {"type": "ping", "status": status}
    finally:
        await pubsub.aclose()


def stream_limits(*, turn_id: int, who: str, ip: str) -> dict[str, int]:
    """The caps on open streams (and JSON waits) of one turn, one user or session, one client IP."""
    return {f"turn:{turn_id}": settings.CHAT_STREAMS_PER_TURN, f"who:{who}": settings.CHAT_STREAMS_PER_SESSION,
            f"ip:{ip}": settings.CHAT_STREAMS_PER_IP}


async def _wait(turn_id: int, limits: dict[str, int], timeout: float) -> None:
    client = async_redis()
    try:
        async with stream_slots(client, limits, ttl_seconds=int(timeout) + 60):
            async for event in chat_turn_events(turn_id=turn_id, client=client, max_seconds=timeout):
                if event["type"] in TERMINAL:
                    return
    finally:
        await client.aclose()


def chat_turn_wait(*, turn: ChatTurn, limits: dict[str, int], timeout: float) -> ChatTurn:
    """Block until the turn has ended or `timeout` passed (JSON mode of the API), holding one stream
    slot under each of `limits` meanwhile; the fresh row. Raises TooManyStreams when a cap is full."""
    if not connection.in_atomic_block:
        connection.close()  # not held while waiting (reopened for the refresh below)
    async_to_sync(_wait)(turn.pk, limits, timeout)
    turn.refresh_from_db()
    return turn
