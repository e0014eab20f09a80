"""Model settings. A name from llm/model_files.py's registry, or a path to a GGUF file or a
local transformers model folder, so a shop can point the app at another model.

LLM_BACKEND=local (default) runs that model inside each `llm` worker process; LLM_BACKEND=openai
sends every generation to an OpenAI-compatible inference server (llama.cpp's llama-server, vLLM,
Ollama) at LLM_BASE_URL, and LLM_MODEL is then the model name that server serves (see README,
"Inference server")."""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_str
from config.settings.services import BASE_DIR

LLM_MODEL = env_str("LLM_MODEL", "qwen2.5-coder-1.5b")
LLM_MODEL_DIR = Path(env_str("LLM_MODEL_DIR", str(BASE_DIR / "var" / "models")))
LLM_CONTEXT_TOKENS = env_int("LLM_CONTEXT_TOKENS", 4096)
LLM_THREADS = env_int("LLM_THREADS", 2)
LLM_TIMEOUT_SECONDS = env_int("LLM_TIMEOUT_SECONDS", 90)
# llama.cpp's prompt-lookup speculative decoding: draft up to this many tokens copied from the prompt
# (answers quote their passages). 0 = off, the default: it needs logits for every prompt token
# (n_ctx x vocabulary floats, ~2.5 GB for Qwen at 4096), and `make bench --part chat` measured no
# gain against the plain path (README, "Knowledge base and chat assistant").
LLM_PROMPT_LOOKUP_TOKENS = env_int("LLM_PROMPT_LOOKUP_TOKENS", 0)
# Load the model and its answer prompt when a "chat"/"llm" worker process starts (llm/warmup.py).
LLM_WARM_UP = env_int("LLM_WARM_UP", 1) == 1

LLM_BACKEND = env_str("LLM_BACKEND", "local").strip().lower()
if LLM_BACKEND not in {"local", "openai"}:
    raise ImproperlyConfigured(f"LLM_BACKEND must be 'local' or 'openai' (got {LLM_BACKEND!r}).")
LLM_BASE_URL = env_str("LLM_BASE_URL", "").strip().rstrip("/")  # e.g. http://llama-server:8080/v1
if LLM_BACKEND == "openai" and not LLM_BASE_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured(f"LLM_BACKEND=openai needs LLM_BASE_URL, the server's http(s) URL ending in /v1 (got {LLM_BASE_URL!r}).")
LLM_API_KEY = env_str("LLM_API_KEY", "")
# Generations one `llm` worker runs at once (its Celery concurrency): an in-process model serves one
# at a time; an inference server batches several (match its parallel slots, e.g. --parallel 4).
LLM_MAX_CONCURRENCY = env_int("LLM_MAX_CONCURRENCY", 4 if LLM_BACKEND == "openai" else 1)
if LLM_MAX_CONCURRENCY < 1:
    raise ImproperlyConfigured(f"LLM_MAX_CONCURRENCY must be at least 1 (got {LLM_MAX_CONCURRENCY}).")
# Busy (429/503) or unreachable server: tries before the generation fails as GenerationUnavailable
# (then the task's own retry with backoff takes over, as after a timeout).
LLM_HTTP_RETRIES = env_int("LLM_HTTP_RETRIES", 2)
# A server that cannot continue an assistant message (llama-cpp-python's) is sent whole prompts on
# /v1/completions, written here with the served model's chat template: read from this GGUF (a
# registry name or a path). Default: LLM_MODEL, where it names a GGUF file on this machine; "none":
# never (such a server is then asked in words what follows a prefix).
LLM_PROMPT_TEMPLATE = env_str("LLM_PROMPT_TEMPLATE", "").strip()
EMBEDDING_MODEL = env_str("EMBEDDING_MODEL", "all-MiniLM-L6-v2")
EMBEDDING_DIMENSIONS = 384
# Web processes load the search query encoder at start (config/wsgi.py), not on the first search.
SEARCH_WARM_UP = env_bool("SEARCH_WARM_UP", True)

# Time limits of the SLM tasks, in seconds (soft: the task is told and records the failure; hard: the
# process is killed). Above LLM_TIMEOUT_SECONDS, which bounds one generation.
LLM_TASK_SOFT_TIME_LIMIT = env_int("LLM_TASK_SOFT_TIME_LIMIT", 120)
LLM_TASK_TIME_LIMIT = env_int("LLM_TASK_TIME_LIMIT", 150)
# Triage makes one structured call plus embeddings (ticket, similar tickets, product).
TRIAGE_TASK_SOFT_TIME_LIMIT = env_int("TRIAGE_TASK_SOFT_TIME_LIMIT", 150)
TRIAGE_TASK_TIME_LIMIT = env_int("TRIAGE_TASK_TIME_LIMIT", 180)

# Customer chat (support/services/chat_liveness.py): a pending answer not started within the queue timeout,
# or a streaming one silent for the stall time, is failed so the customer can retry.
CHAT_QUEUE_TIMEOUT_SECONDS = env_int("CHAT_QUEUE_TIMEOUT_SECONDS", 180)
CHAT_STALL_SECONDS = env_int("CHAT_STALL_SECONDS", 30)
CHAT_RATE_LIMIT = env_int("CHAT_RATE_LIMIT", 20)  # questions per user (or anonymous session) per window
CHAT_RATE_LIMIT_PER_IP = env_int("CHAT_RATE_LIMIT_PER_IP", 60)
CHAT_RATE_WINDOW = env_int("CHAT_RATE_WINDOW", 300)
# Open answer streams (SSE) and JSON-mode waits held at once, per turn, per user/session and per
# client IP (core.ratelimit.stream_slots); JSON mode (signed-in or token clients only) waits at most
# CHAT_JSON_WAIT_SECONDS, then answers 202 with the turn to follow from its events_url.
CHAT_STREAMS_PER_TURN = env_int("CHAT_STREAMS_PER_TURN", 3)
CHAT_STREAMS_PER_SESSION = env_int("CHAT_STREAMS_PER_SESSION", 6)
CHAT_STREAMS_PER_IP = env_int("CHAT_STREAMS_PER_IP", 40)
CHAT_JSON_WAIT_SECONDS = env_int("CHAT_JSON_WAIT_SECONDS", 60)
