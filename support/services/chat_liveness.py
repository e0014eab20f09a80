"""Whether a chat turn's worker is alive: the worker's heartbeat while it answers, failing a turn
(once, telling any listener), and the sweep that fails turns whose worker is gone.

A turn is failed (retryable: the customer can try again) when it waited longer than
CHAT_QUEUE_TIMEOUT_SECONDS for a worker, or streamed with no sign of life for CHAT_STALL_SECONDS.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.jobs import JobStatus
from support.models import ChatTurn
from support.services.chat_events import redis_client, turn_event_publish, turn_events_key

ANSWER_FAILED = "The assistant stopped before finishing its answer. Please try again."


class TurnHeartbeat:
    """While the worker answers, touch the turn's last_event_at every third of CHAT_STALL_SECONDS from a
    thread of the same process, so a long model load or prompt (no tokens yet) is not taken for a dead
    worker; when the process dies, the heartbeat dies with it and the stall is seen."""

    def __init__(self, turn_id: int, attempt: int):
        self.turn_id, self.attempt = turn_id, attempt
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"chat-turn-{turn_id}-heartbeat", daemon=True)

    def _run(self) -> None:
        try:
            while not self.stopped.wait(max(1.0, settings.CHAT_STALL_SECONDS / 3)):
                ChatTurn.objects.filter(pk=self.turn_id, status=JobStatus.RUNNING, attempts=self.attempt).update(
                    last_event_at=timezone.now())
        finally:
            connection.close()  # this thread's own connection

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)


def chat_turn_fail(*, turn_id: int, error: str, attempt: int | None = None, publish=None) -> bool:
    """Mark a pending or running turn failed (once) and tell any listener. Returns False if it had ended."""
    turns = ChatTurn.objects.filter(pk=turn_id, status__in=[JobStatus.PENDING, JobStatus.RUNNING])
    if attempt is not None:
        turns = turns.filter(attempts=attempt)
    if not turns.update(status=JobStatus.FAILED, error=error[:2000], finished_at=timezone.now()):
        return False
    if publish is not None:
        publish("failed", error=ANSWER_FAILED, retryable=True)
    else:
        # Not the worker: number the event after whatever the list holds so listeners accept it.
        number = redis_client().llen(turn_events_key(turn_id))
        turn_event_publish(turn_id=turn_id, event=json.dumps(
            {"i": number, "type": "failed", "error": ANSWER_FAILED, "retryable": True}))
    return True


def chat_turns_fail_stale(*, now=None) -> int:
    """Fail turns whose worker is gone: pending longer than CHAT_QUEUE_TIMEOUT_SECONDS, or running
    with no sign of life for CHAT_STALL_SECONDS. Run by beat and checked by the SSE endpoint."""
    now = now or timezone.now()
    stale = list(
        ChatTurn.objects.filter(status=JobStatus.PENDING, requested_at__lt=now - timedelta(seconds=settings.CHAT_QUEUE_TIMEOUT_SECONDS))
        .values_list("pk", flat=True)
    ) + list(
        ChatTurn.objects.filter(status=JobStatus.RUNNING, last_event_at__lt=now - timedelta(seconds=settings.CHAT_STALL_SECONDS))
        .values_list("pk", flat=True)
    )
    return sum(chat_turn_fail(turn_id=pk, error="No answer from the assistant worker in time (worker stopped or queue stuck).")
               for pk in stale)
