"""Warm the generative model when a worker process that serves the "chat" or "llm" queue starts, so
the first answer does not pay the model load, and evaluate the answer's constant system prompt once
so llama.cpp already holds it (it reuses the longest shared token prefix of the next prompt). Other
apps register the system prompts of their own tasks (`register_system_prompt`: support registers
triage's, for the active categories); they are evaluated after the answer's, and the engine keeps the
cells of each (llm/llama_prefill.py), so the worker's first ticket does not pay its prompt either.

The queues are known in the worker's main process (celeryd_after_setup); the pool's child process,
forked after it, inherits the flag and warms up in a thread of its own (worker_process_init must
return within a few seconds, and a task that arrives meanwhile simply waits for the model lock).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from celery.signals import celeryd_after_setup, worker_process_init
from django.conf import settings

logger = logging.getLogger(__name__)

WARM_QUEUES = {"chat", "llm"}
_serves_generation = False
_system_prompts: dict[str, Callable[[], str]] = {}


def register_system_prompt(name: str, provider: Callable[[], str]) -> None:
    """`provider()` gives the constant system prompt of a task the worker runs (read when the worker warms up, so
    it may read the database); registered again under the same name, it replaces the earlier one."""
    _system_prompts[name] = provider


def warm_up(model: str | None = None) -> float:
    """Load the model and evaluate the answer prompt's constant prefix, then each registered task's system prompt
    (the chat's first: a customer waits on it); returns the seconds it took. A provider that fails is skipped."""
    from llm import engine
    from llm.services.answer import answer_messages

    started = time.monotonic()
    generator = engine.generator(model)
    generator.complete(answer_messages("warm-up", [], None), max_tokens=1)
    for name, provider in list(_system_prompts.items()):
        try:
            system = provider()
            generator.complete([{"role": "system", "content": system}, {"role": "user", "content": "warm-up"}],
                               max_tokens=1)
        except Exception:  # noqa: BLE001 - that task's first run evaluates its prompt itself
            logger.exception("warming the %s system prompt failed", name)
    seconds = time.monotonic() - started
    logger.info("model %s warm (load and %d system prompts) in %.1f s", model or settings.LLM_MODEL,
                1 + len(_system_prompts), seconds)
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
    from django.db import connections

    try:
        warm_up()
    except Exception:  # noqa: BLE001 - a failed warm-up only means the first task loads the model itself
        logger.exception("model warm-up failed")
    finally:
        connections.close_all()  # this thread's, opened by a provider that read the database
