"""Record every run of a task on the "chat", "llm" and "embed" queues as a TaskRun row (Celery signals).

Handlers run in the worker process around each task: prerun notes the start, failure keeps the
error, postrun writes one row. Recording must never break a task: database errors are logged.
A task killed by its hard time limit (or a dead worker) has no postrun and leaves no row.
"""

from __future__ import annotations

import logging
import time
from fnmatch import fnmatchcase

from celery.signals import task_failure, task_postrun, task_prerun
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

logger = logging.getLogger(__name__)

RECORDED_QUEUES = {"chat", "llm", "embed"}
_running: dict[str, tuple[float, object]] = {}
_errors: dict[str, str] = {}


def task_queue(task) -> str:
    """The queue a task came from: the delivery's routing key, else the name-based route in settings."""
    delivery = getattr(task.request, "delivery_info", None) or {}
    if delivery.get("routing_key"):
        return delivery["routing_key"]
    for pattern, route in settings.CELERY_TASK_ROUTES.items():
        if fnmatchcase(task.name, pattern):
            return route["queue"]
    return settings.CELERY_TASK_DEFAULT_QUEUE


@task_prerun.connect
def _task_started(sender=None, task_id=None, task=None, **kwargs):
    if task is not None and task_queue(task) in RECORDED_QUEUES:
        _running[task_id] = (time.monotonic(), timezone.now())


@task_failure.connect
def _task_failed(sender=None, task_id=None, exception=None, **kwargs):
    if task_id in _running:
        _errors[task_id] = f"{type(exception).__name__}: {exception}"[:2000]


@task_postrun.connect
def _task_finished(sender=None, task_id=None, task=None, state=None, **kwargs):
    started = _running.pop(task_id, None)
    error = _errors.pop(task_id, "")
    if started is None:
        return
    from llm.models import TaskRun

    status = {"SUCCESS": TaskRun.Status.SUCCESS, "RETRY": TaskRun.Status.RETRY}.get(state, TaskRun.Status.FAILURE)
    try:
        TaskRun.objects.create(
            task_id=task_id or "", task_name=task.name, queue=task_queue(task), status=status, error=error,
            worker=getattr(task.request, "hostname", None) or "", started_at=started[1],
            seconds=round(time.monotonic() - started[0], 4),
        )
    except DatabaseError:
        logger.warning("task run of %s (%s) could not be recorded", task.name, task_id, exc_info=True)
