"""What an OpenAI-compatible inference server supports, asked, not assumed (LLM_BACKEND=openai).

`probe` runs once per process on first use (and when a worker starts, for its log line): the
models list, a one-token logprobs call, a tiny JSON-schema call in each of the two known request
forms, an assistant-prefix call and, where that fails and the model's chat template is on this
machine, a whole-prompt call on /v1/completions. Also here: how each form is asked for, and the
line that says what is used (worker log, /healthz: llm/backend_status.py).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from django.conf import settings

from llm.transformers_backend import with_schema_instruction

if TYPE_CHECKING:
    from llm.openai_backend import OpenAIChatBackend

logger = logging.getLogger(__name__)


class InferenceServerError(RuntimeError):
    """The server refused the request itself (bad request, wrong key, unknown model): not transient."""


# Fields vLLM reads to continue a final assistant message; llama-server does so by itself.
PREFILL_FIELDS = {"continue_final_message": True, "add_generation_prompt": False}


def schema_request(messages: list[dict], schema: dict, mode: str) -> tuple[list[dict], dict]:
    """The messages and request fields that ask for JSON matching `schema` in the server's way."""
    if mode == "json_schema":
        return messages, {"response_format": {"type": "json_schema", "json_schema": {"name": "output", "schema": schema, "strict": True}}}
    if mode == "json_object":
        return messages, {"response_format": {"type": "json_object", "schema": schema}}
    return with_schema_instruction(messages, schema), {}  # "prompt": the caller's parser checks the output


# /v1/models "owned_by" of the servers we know.
SERVERS = {"llamacpp": "llama.cpp server", "me": "llama-cpp-python server", "vllm": "vLLM", "library": "Ollama", "ollama": "Ollama"}
# A value no model writes unless a grammar makes it: the schema was enforced, not just hoped for.
_PROBE_SCHEMA = {"type": "object", "properties": {"probe": {"type": "string", "enum": ["zq-7"]}}, "required": ["probe"]}
_ORANGE = {"role": "user", "content": "Write the word orange, nothing else."}  # then "ora" written: does it go on?


def probe(backend: OpenAIChatBackend) -> dict:
    """The server's capabilities. Raises GenerationUnavailable while it cannot be reached and
    InferenceServerError when it does not serve the model."""
    listing = backend.get_json("/models", timeout=10)
    served = [m.get("id", "") for m in listing.get("data") or []]
    owner = next((m.get("owned_by", "") for m in listing.get("data") or []), "")
    if backend.model not in served and len(served) != 1:
        raise InferenceServerError(f"the server at {backend.base_url} serves {served or 'no model'}, not LLM_MODEL={backend.model!r}.")
    caps = {"backend": "openai", "base_url": backend.base_url, "model": backend.model, "served_models": served,
            "server": SERVERS.get(owner, owner or "unknown server"),
            # llama-cpp-python's server defaults to repeat_penalty 1.1 where the library (and so the
            # in-process backend) uses 1.0: the same greedy answers need the same penalty.
            "sampling": {"repeat_penalty": 1.0} if owner == "me" else {}}
    caps["logprobs"] = _supports_logprobs(backend, caps)
    caps["json_schema"] = _json_schema_mode(backend, caps)
    caps["prefill"] = _supports_prefill(backend, caps)
    caps["completions"] = not caps["prefill"] and _supports_whole_prompts(backend, caps)
    return caps


def _chat(backend: OpenAIChatBackend, caps: dict, messages: list[dict], **fields) -> dict | None:
    """One small non-streamed chat completion; None when the server refuses the request's form."""
    return _probe_request(backend, "/chat/completions", {"messages": messages, **caps["sampling"], **fields})


def _probe_request(backend: OpenAIChatBackend, path: str, fields: dict) -> dict | None:
    """One small non-streamed request at temperature 0; None when the server refuses its form."""
    try:
        return backend.post_json(path, {"model": backend.model, "temperature": 0.0, **fields}, timeout=60)
    except InferenceServerError as exc:
        logger.info("inference server refused a capability probe: %s", exc)
        return None


def _supports_logprobs(backend: OpenAIChatBackend, caps: dict) -> bool:
    data = _chat(backend, caps, [{"role": "user", "content": "Say yes."}], max_tokens=1, logprobs=True, top_logprobs=2)
    try:
        return bool(data["choices"][0]["logprobs"]["content"][0]["top_logprobs"])
    except (KeyError, IndexError, TypeError):
        return False


def _json_schema_mode(backend: OpenAIChatBackend, caps: dict) -> str:
    """"json_schema" (OpenAI's form: llama-server, vLLM, Ollama), "json_object" with a schema
    (llama-cpp-python's form), else "prompt": the schema goes into the prompt and is checked after."""
    messages = [{"role": "user", "content": "Reply with a JSON object."}]
    for mode in ("json_schema", "json_object"):
        probe_messages, fields = schema_request(messages, _PROBE_SCHEMA, mode)
        data = _chat(backend, caps, probe_messages, max_tokens=24, **fields)
        try:
            if json.loads(data["choices"][0]["message"]["content"]) == {"probe": "zq-7"}:
                return mode
        except (KeyError, IndexError, TypeError, ValueError):
            pass
    return "prompt"


def _supports_prefill(backend: OpenAIChatBackend, caps: dict) -> bool:
    """Does the server continue a final assistant message (rather than answer anew after it)?"""
    messages = [_ORANGE, {"role": "assistant", "content": "ora"}]
    data = _chat(backend, caps, messages, max_tokens=2, **PREFILL_FIELDS)
    try:
        return data["choices"][0]["message"]["content"].lower().startswith("nge")
    except (KeyError, IndexError, TypeError, AttributeError):
        return False


def _supports_whole_prompts(backend: OpenAIChatBackend, caps: dict) -> bool:
    """Does the server continue a prompt written here with the model's chat template on /v1/completions,
    with top logprobs? Only asked where that template is on this machine (LLM_PROMPT_TEMPLATE); the
    prompt is then right by construction (how well a model continues it is the model's affair)."""
    writer = backend.prompt_writer()
    if writer is None:
        return False
    prompt = writer.render_chat([_ORANGE]) + "ora"
    data = _probe_request(backend, "/completions", {"prompt": prompt, "max_tokens": 1, "logprobs": 2, **caps["sampling"]})
    try:
        return isinstance(data["choices"][0]["text"], str) and bool(data["choices"][0]["logprobs"]["top_logprobs"][0])
    except (KeyError, IndexError, TypeError, AttributeError):
        return False


def describe(caps: dict) -> str:
    """One line for the worker log and /healthz."""
    return (f"openai-compatible server {caps['base_url']} ({caps['server']}), model {caps['model']}: "
            f"JSON schema by {caps['json_schema']}, logprobs {'yes' if caps['logprobs'] else 'no'}, "
            f"assistant prefix {_prefix_line(caps)}, {settings.LLM_MAX_CONCURRENCY} generations at once per worker")


def _prefix_line(caps: dict) -> str:
    if caps["prefill"]:
        return "yes"
    if caps.get("completions"):
        return "by whole prompts on /v1/completions (the model's chat template, written here)"
    return "no (asked in words)"
