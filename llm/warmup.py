"""Warm the generative model when a worker process that serves the "chat" or "llm" queue starts, so
the first answer does not pay the model load, and evaluate the answer's constant system prompt once
so llama.cpp already holds it (it reuses the longest shared token prefix of the next prompt).

The queues are known in the worker's main process (celeryd_after_setup); the pool's child process,
forked after it, inherits the flag and warms up in a thread of its own (worker_process_init must
return within a few seconds, and a task that arrives meanwhile simply waits for the model lock).
"""

from __future__ import annotations

import logging
import threading
import time

from celery.signals import celeryd_after_setup, worker_process_init
from django.conf import settings

logger = logging.getLogger(__name__)

WARM_QUEUES = {"chat", "llm"}
_serves_generation = False


def warm_up(model: str | None = None) -> float:
    """Load the model and evaluate the answer prompt's constant prefix; returns the seconds it took."""
    from llm import engine
    from llm.services.answer import answer_messages

    started = time.monotonic()
    generator = engine.generator(model)
    generator.complete(answer_messages("warm-up", [], None), max_tokens=1)
    seconds = time.monotonic() - started
    logger.info("model %s warm (load and system prompt) in %.1f s", model or settings.LLM_MODEL, seconds)
    return seconds


def serves_generation(queue_names) -> bool:
    return bool(set(queue_names) & WARM_QUEUES)


@celeryd_after_setup.connect
def _note_queues(sender=None, instance=None, **kwargs):
    global _serves_generation
    queues = instance.app.amqp.queues
    _serves_generation = serves_generation((queues.consume_from or queues).keys())


@worker_process_init.connect
def _warm_in_background(**kwargs):
    if _serves_generation and settings.LLM_WARM_UP:
        threading.Thread(target=_warm_safely, name="llm-warm-up", daemon=True).start()


def _warm_safely() -> None:
    try:
        warm_up()
    except Exception:  # noqa: BLE001 - a failed warm-up only means the first task loads the model itself
        logger.exception("model warm-up failed")
