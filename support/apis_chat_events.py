"""The chat answer's event stream (server-sent events), an async view: under the ASGI server
(uvicorn workers, see config/asgi.py) an open stream costs a socket and a Redis subscription, not a
thread. Open streams are capped per turn, per user or session and per client IP.

A plain Django view (DRF has no async views); schema_add_events_path documents it in the OpenAPI
schema like the DRF views around it.
"""

import json
import queue
import threading
from collections.abc import Iterator

from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIRequest
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from core.ratelimit import TooManyStreams, async_redis, client_ip, stream_slots
from support.selectors.chat import chat_turn_get_own
from support.selectors.chat_events import STREAM_MAX_SECONDS, chat_turn_events, in_db, stream_limits

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
EVENTS_PATH = "/api/support/chat/turns/{turn_id}/events/"


async def _sse(turn_id: int, limits: dict[str, int]):
    client = async_redis()
    try:
        async with stream_slots(client, limits, ttl_seconds=STREAM_MAX_SECONDS + 60):
            yield "retry: 2000\n\n"
            async for event in chat_turn_events(turn_id=turn_id, client=client):
                event_id = f"id: {event['i']}\n" if "i" in event else ""
                yield f"{event_id}event: {event['type']}\ndata: {json.dumps(event)}\n\n"
    except TooManyStreams as exc:
        yield f"event: error\ndata: {json.dumps({'detail': _too_many(str(exc))})}\n\n"
    finally:
        await client.aclose()


def _blocking(make_stream) -> Iterator[str]:
    """The stream for a WSGI server (runserver, the tests' live server), which iterates in a thread
    of its own: the async stream runs in a helper thread, chunk by chunk through a queue (Django
    would otherwise collect the whole stream before sending a byte). A client gone stops it at the
    next chunk (a ping comes every few seconds), which releases its slots."""
    chunks: queue.Queue = queue.Queue()
    stop = threading.Event()

    async def pump():
        stream = make_stream()
        try:
            async for chunk in stream:
                chunks.put(chunk)
                if stop.is_set():
                    break
        finally:
            await stream.aclose()
            chunks.put(None)

    threading.Thread(target=async_to_sync(pump), daemon=True).start()
    try:
        while (chunk := chunks.get()) is not None:
            yield chunk
    finally:
        stop.set()


def _too_many(limit: str) -> str:
    return f"Too many open answer streams for this {limit}. Close another tab or wait for an answer to finish."


def _own_turn(request, turn_id):
    """(turn, who) when the requester (API token, or the session's user or anonymous session) owns
    the turn; else None."""
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Token "):
        try:
            user = TokenAuthentication().authenticate_credentials(auth.removeprefix("Token ").strip())[0]
        except AuthenticationFailed:
            return None
    else:
        user = request.user
    session_key = request.session.session_key or ""
    turn = chat_turn_get_own(turn_id=turn_id, user=user, session_key=session_key)
    if turn is None:
        return None
    return turn, f"user:{user.pk}" if user.is_authenticated else f"session:{session_key}"


@require_GET
async def chat_turn_events_api(request, turn_id):
    """Server-sent events of one answer: what already happened is replayed first, then live events
    until `done` or `failed`. A dead worker ends in `failed` (retryable) instead of hanging. 404 for
    another's turn; 429 when too many streams are open (the slots are checked here, then held by
    the stream until it ends or the client goes)."""
    owned = await in_db(_own_turn, request, turn_id)
    if owned is None:
        return JsonResponse({"detail": "No such answer."}, status=404)
    turn, who = owned
    limits = stream_limits(turn_id=turn.pk, who=who, ip=client_ip(request))
    client = async_redis()
    try:  # refuse with a proper status while we still can (the stream takes its own slots)
        for key, cap in limits.items():
            if int(await client.get(f"streams:{key}") or 0) >= cap:
                return JsonResponse({"detail": _too_many(key.split(":", 1)[0])}, status=429)
    finally:
        await client.aclose()
    content = _sse(turn.pk, limits) if isinstance(request, ASGIRequest) else _blocking(lambda: _sse(turn.pk, limits))
    return StreamingHttpResponse(content, content_type="text/event-stream", headers=SSE_HEADERS)


def schema_add_events_path(result, generator, request, public):
    """drf-spectacular post-processing hook: the event stream in the OpenAPI schema."""
    result.setdefault("paths", {})[EVENTS_PATH] = {"get": {
        "operationId": "support_chat_turns_events_retrieve",
        "description": chat_turn_events_api.__doc__.strip(),
        "tags": ["support"],
        "parameters": [{"in": "path", "name": "turn_id", "required": True, "schema": {"type": "integer"}}],
        "security": [{"cookieAuth": []}, {"tokenAuth": []}, {}],
        "responses": {"200": {"content": {"text/event-stream": {"schema": {"type": "string"}}}, "description": ""},
                      "404": {"description": "Not your answer (or none)."},
                      "429": {"description": "Too many open streams."}},
    }}
    return result
