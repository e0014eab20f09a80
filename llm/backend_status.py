"""Which generator backend this process uses, for /healthz (core/selectors.py) and the worker's log."""

from __future__ import annotations

import logging

from django.conf import settings

from llm import engine
from llm.openai_capabilities import describe

logger = logging.getLogger(__name__)


def backend_health() -> dict:
    """The /healthz line: which backend, and for a server whether it answers now and what it is used for."""
    if settings.LLM_BACKEND != "openai":
        return {"ok": True, "backend": "local", "model": settings.LLM_MODEL, "concurrency": settings.LLM_MAX_CONCURRENCY}
    backend = engine.generator().backend
    line = {"backend": "openai", "base_url": backend.base_url, "model": backend.model, "concurrency": settings.LLM_MAX_CONCURRENCY}
    try:
        backend.get_json("/models", timeout=10, retries=0)  # up now? (the capabilities are probed once)
        caps = backend.capabilities()
    except Exception as exc:  # noqa: BLE001 - any failure means "down", with its reason
        text = str(exc).strip().splitlines()
        return {"ok": False, **line, "error": f"{type(exc).__name__}: {text[0] if text else ''}"}
    return {"ok": True, **line, "server": caps["server"], "json_schema": caps["json_schema"], "logprobs": caps["logprobs"],
            "prefill": caps["prefill"],
            "whole_prompts": caps["completions"], "uses": describe(caps)}


def log_backend_at_worker_start() -> None:
    """The worker's log line saying which backend it will use (probing a server now, if there is one)."""
    if settings.LLM_BACKEND != "openai":
        logger.info("LLM backend: in-process %s, %d generation(s) at once per worker", settings.LLM_MODEL, settings.LLM_MAX_CONCURRENCY)
        return
    try:
        engine.generator().backend.capabilities()  # logs "LLM backend: ..." itself
    except Exception as exc:  # noqa: BLE001 - the worker still starts; tasks retry until the server is up
        logger.warning("LLM backend: inference server %s not usable yet (%s); tasks will retry", settings.LLM_BASE_URL, exc)
