"""The one way background work is sent: the row first (with its status), the task after commit,
and a sweeper for what never reached the broker.

- `enqueue_on_commit(task, id)` sends the task once the current transaction commits. A broker that
  is down does not fail the request: it is logged, `on_failure(id)` runs when given (e.g. to mark a
  chat turn failed and retryable), and otherwise the row simply stays pending.
- `enqueue(task, id)` sends now, with the same safety; returns whether the broker took it.
- `resend_stale(queryset, task)` re-sends each row of a queryset of stale pending rows (a beat task
  calls it): tasks are idempotent (conventions, habit 6), so a message that did arrive meanwhile
  runs twice at worst and changes nothing the second time.

Users: knowledge indexing and product embeddings (beat sweepers re-send), chat turns (the stale-turn
sweeper fails them as retryable), ask-the-data questions (failed at once when not sent), and triage,
which keeps its own request bookkeeping (debounce, request times) but sends through `enqueue`.

The row's bookkeeping is the same everywhere too: `JobStatus` is the one lifecycle vocabulary and
`JobFields` the abstract model that puts it on a row with attempts, the latest error and when the
latest run started and finished; `job_fields("ai_")` names them for a ticket, whose own `status` is
its workflow. Which job uses what, and why request times and product embeddings stay outside:
docs/architecture.md, "Background jobs: one lifecycle".
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import models, transaction

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500


class JobStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


def job_fields(prefix: str = "") -> type[models.Model]:
    """An abstract model with the job bookkeeping fields, each name starting with `prefix`."""
    fields = {
        "status": models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.PENDING, db_index=True),
        "attempts": models.PositiveSmallIntegerField(default=0, help_text="Runs started (a killed worker's run counts)."),
        "error": models.TextField(blank=True, help_text="Why the latest run failed, in plain words."),
        "started_at": models.DateTimeField(null=True, blank=True, help_text="When the latest run started."),
        "finished_at": models.DateTimeField(null=True, blank=True, help_text="When the latest run ended."),
    }
    meta = type("Meta", (), {"abstract": True})
    name = "".join(part.capitalize() for part in prefix.split("_")) + "JobFields"
    return type(name, (models.Model,), {"__module__": __name__, "Meta": meta, **{prefix + key: field for key, field in fields.items()}})


JobFields = job_fields()


def enqueue(task, object_id: int, *, countdown: float | None = None, **kwargs) -> bool:
    """Send `task(object_id, **kwargs)` now; False (logged, never raised) when the broker is down."""
    try:
        # Celery's publish retry (task_publish_retry_policy, under a second) covers a pooled
        # connection that a broker restart closed; a broker that is down fails fast.
        if countdown is None:
            task.delay(object_id, **kwargs)
        else:
            task.apply_async(args=[object_id], kwargs=kwargs, countdown=countdown)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the row stays as it is, the sweeper sends it later
        logger.warning("Could not enqueue %s for %s (%s: %s); it stays pending.", task.name, object_id, type(exc).__name__, exc)
        return False
    return True


def enqueue_on_commit(task, object_id: int, *, on_failure: Callable[[int], None] | None = None, **kwargs) -> None:
    """Send `task(object_id)` once the current transaction commits (at once outside one)."""
    def send():
        if not enqueue(task, object_id, **kwargs) and on_failure is not None:
            on_failure(object_id)

    transaction.on_commit(send)


def resend_stale(queryset, task, *, limit: int = SWEEP_BATCH) -> int:
    """Send `task(pk)` for each row of `queryset` (the caller's "pending too long"); how many the broker took."""
    return sum(enqueue(task, pk) for pk in queryset.order_by("pk").values_list("pk", flat=True)[:limit])
