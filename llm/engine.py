"""The models, loaded lazily and once per process (a worker process keeps them for its life).

Celery workers (and evaluation/benchmark commands) call these; a web process loads only the
embedding model, once, at start (config/wsgi.py warms the query encoder). Errors loading a model are raised as ModelFileError with one clear sentence.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from llm.errors import GenerationTimeout, GenerationUnavailable  # noqa: F401 - callers use engine.GenerationTimeout
from llm.llama_prefill import PARALLEL_SEQUENCES, tokens_after
from llm.model_files import ModelFileError, embedding_model_path, resolve_generative_model
from llm.openai_backend import OpenAIChatBackend

_lock = threading.Lock()
_lock_for_params = threading.Lock()  # _parallel_sequences_context
_embedders: dict[str, object] = {}
_embedder_load_seconds: dict[str, float] = {}
_generators: dict[str, Generator] = {}


def embedder(name: str | None = None):
    """The sentence-transformers model (default all-MiniLM-L6-v2 from its package)."""
    name = name or settings.EMBEDDING_MODEL
    with _lock:
        if name not in _embedders:
            from sentence_transformers import SentenceTransformer

            path = embedding_model_path(name)
            started = time.monotonic()
            try:
                _embedders[name] = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            except Exception as exc:  # noqa: BLE001 - any load failure is reported the same way
                raise ModelFileError(f"Embedding model at {path} could not be loaded: {exc}") from exc
            _embedder_load_seconds[name] = round(time.monotonic() - started, 2)
        return _embedders[name]


def embedder_loaded_seconds(name: str | None = None) -> float | None:
    """How long this process took to load the embedding model, or None while it is not loaded."""
    return _embedder_load_seconds.get(name or settings.EMBEDDING_MODEL)


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    first_token_seconds: float | None = None


@dataclass
class Generator:
    """A chat model behind one small interface, whatever backend serves it."""

    name: str
    path: Path | None  # None for a model served over HTTP (llm/openai_backend.py)
    backend: object
    context_tokens: int
    last_usage: Usage = field(default_factory=Usage)
    # One llama.cpp context serves one generation at a time (threads share it in tests/bench).
    _in_use: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _llama_prefill: object = field(default=None, repr=False)

    def stream(
        self,
        messages: list[dict],
        *,
        max_tokens: int = 256,
        stop: list[str] | None = None,
        json_schema: dict | None = None,
        time_limit: float | None = None,
        temperature: float = 0.0,
    ) -> Iterator[str]:
        """Yield text pieces as they are generated. Raises GenerationTimeout past time_limit."""
        time_limit = time_limit or settings.LLM_TIMEOUT_SECONDS
        kwargs = {"messages": messages, "max_tokens": max_tokens, "temperature": temperature, "stream": True, "stop": stop or []}
        if json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": json_schema}
        usage = Usage(prompt_tokens=self.count_tokens(messages))
        self.last_usage = usage
        started = time.monotonic()
        produced: list[str] = []
        # An inference server batches concurrent requests itself; a local context needs the lock.
        with contextlib.nullcontext() if getattr(self.backend, "concurrent", False) else self._in_use, \
                self._system_prompt_kept(messages):
            for chunk in self.backend.create_chat_completion(**kwargs):
                piece = chunk["choices"][0]["delta"].get("content") or ""
                if not piece:
                    continue
                if usage.first_token_seconds is None:
                    usage.first_token_seconds = time.monotonic() - started
                produced.append(piece)
                usage.completion_tokens += 1
                yield piece
                if time.monotonic() - started > time_limit:
                    usage.seconds = time.monotonic() - started
                    raise GenerationTimeout(f"generation stopped after {time_limit:.0f} s", "".join(produced))
        usage.seconds = time.monotonic() - started

    def complete(self, messages: list[dict], **kwargs) -> str:
        return "".join(self.stream(messages, **kwargs))

    def option_probabilities(self, messages: list[dict], *, options: list[str], answer_prefix: str = "",
                             aside: bool = False) -> list[float]:
        """Probability of each option as the next thing the assistant writes after `answer_prefix`, normalised over
        the options. Each option's first token must differ from the others'. `aside`: a one-off question whose
        prompt shares nothing with the next call's; llama.cpp evaluates it on a sequence of its own, so the
        context keeps what it held (the chat's constant system prompt)."""
        import numpy as np

        if not hasattr(self.backend, "next_token_logits") and hasattr(self.backend, "option_probabilities"):
            # an inference server (llm/openai_backend.py) reads its own logprobs
            started = time.monotonic()
            with contextlib.nullcontext() if getattr(self.backend, "concurrent", False) else self._in_use:
                shares = self.backend.option_probabilities(messages, options=options, answer_prefix=answer_prefix)
            self.last_usage = Usage(seconds=time.monotonic() - started)
            return shares
        if len(options) < 2:
            raise ValueError("option_probabilities needs at least two options.")
        ops = self._prefill()
        prompt = ops.render_chat(messages) + answer_prefix
        first = [_first_token(ops, prompt, option) for option in options]
        if len(set(first)) != len(first):
            raise ValueError(f"the options {options!r} do not all start with different tokens.")
        started = time.monotonic()
        aside = aside and hasattr(ops, "next_token_logits_aside")
        with self._in_use, contextlib.nullcontext() if aside else self._system_prompt_kept(messages):
            logits, evaluated = ops.next_token_logits_aside(prompt) if aside else ops.next_token_logits(prompt)
        chosen = np.asarray(logits, dtype=np.float64)[first]
        weights = np.exp(chosen - chosen.max())
        self.last_usage = Usage(prompt_tokens=evaluated, seconds=time.monotonic() - started)
        return [float(w) for w in weights / weights.sum()]

    def text_probabilities(self, messages: list[dict], *, texts: list[str], answer_prefix: str = "") -> list[float]:
        """Probability of each of `texts` (category names, say) as what the assistant writes, normalised over
        them: the product of its tokens' probabilities up to where it differs from every other text (a trie
        walk: one evaluation per branching point, the shared prefix kept), so texts may start alike
        ("Order status", "Order changes"). A text that is the start of another gets the probability of
        stopping there. The assistant's answer starts with `answer_prefix` (written, not generated). An
        inference server walks its top logprobs the same way (OpenAIChatBackend.text_probabilities)."""
        if len(texts) < 2 or len(set(texts)) != len(texts):
            raise ValueError("text_probabilities needs at least two different texts.")
        if not hasattr(self.backend, "next_token_logits") and hasattr(self.backend, "text_probabilities"):
            # an inference server (llm/openai_backend.py) walks its own top logprobs
            started = time.monotonic()
            shares = self.backend.text_probabilities(messages, texts=texts, answer_prefix=answer_prefix)
            self.last_usage = Usage(seconds=time.monotonic() - started)
            return shares
        import numpy as np

        ops = self._prefill()
        prompt = ops.render_chat(messages) + answer_prefix
        tails = [tokens_after(ops, prompt, text) for text in texts]
        log_p = [0.0] * len(texts)
        evaluated = 0
        started = time.monotonic()

        def walk(prefix: list[int], members: list[int]) -> None:
            nonlocal evaluated
            depth = len(prefix)
            logits, count = ops.next_token_logits(prompt, prefix)
            evaluated += count
            logits = np.asarray(logits, dtype=np.float64)
            log_softmax = logits - logits.max() - np.log(np.exp(logits - logits.max()).sum())
            branches: dict[int, list[int]] = {}
            for i in members:
                branches.setdefault(tails[i][depth] if depth < len(tails[i]) else -1, []).append(i)
            going_on = sum(np.exp(log_softmax[token]) for token in branches if token != -1)
            for token, group in branches.items():
                step = log_softmax[token] if token != -1 else np.log(max(1.0 - going_on, 1e-9))
                for i in group:
                    log_p[i] += step
                if token != -1 and len(group) > 1:
                    walk([*prefix, token], group)

        with self._in_use, self._system_prompt_kept(messages):
            walk([], list(range(len(texts))))
        weights = np.exp(np.array(log_p) - max(log_p))
        self.last_usage = Usage(prompt_tokens=evaluated, seconds=time.monotonic() - started)
        return [float(w) for w in weights / weights.sum()]

    def continue_text(self, messages: list[dict], *, answer_prefix: str, max_tokens: int, stop: list[str]) -> str:
        """What the assistant writes after `answer_prefix` (written into the prompt, so it is processed at prompt
        speed, not generated), at temperature 0, up to the first stop string. Prefix reuse as above."""
        if not hasattr(self.backend, "next_token_logits") and hasattr(self.backend, "continue_text"):
            # an inference server (llm/openai_backend.py) continues an assistant prefix itself
            started = time.monotonic()
            with contextlib.nullcontext() if getattr(self.backend, "concurrent", False) else self._in_use:
                text, generated = self.backend.continue_text(messages, answer_prefix=answer_prefix, max_tokens=max_tokens,
                                                             stop=stop)
            self.last_usage = Usage(completion_tokens=generated, seconds=time.monotonic() - started)
            return text
        ops = self._prefill()
        started = time.monotonic()
        with self._in_use, self._system_prompt_kept(messages):
            text, generated = ops.continue_text(ops.render_chat(messages) + answer_prefix, max_tokens=max_tokens, stop=stop)
        self.last_usage = Usage(completion_tokens=generated, seconds=time.monotonic() - started)
        return text

    def continue_texts(self, messages: list[dict], *, answer_prefixes: list[str], max_tokens: list[int],
                       stops: list[list[str]]) -> list[str]:
        """continue_text after each of `answer_prefixes` (each with its own max_tokens and stop strings), the
        continuations independent of each other: llama.cpp decodes them side by side as sequences of one batch
        (LlamaPrefill.continue_texts), other backends one after another. last_usage.completion_tokens counts the
        tokens of all of them."""
        if not len(answer_prefixes) == len(max_tokens) == len(stops):
            raise ValueError("continue_texts needs one max_tokens and one stop list per answer prefix.")
        in_process_llama = not hasattr(self.backend, "next_token_logits") and not hasattr(self.backend, "continue_text")
        ops = self._prefill() if in_process_llama else None
        if ops is None or not 1 < len(answer_prefixes) <= ops.parallel_sequences():
            texts, generated = [], 0
            for prefix, limit, stop in zip(answer_prefixes, max_tokens, stops, strict=True):
                texts.append(self.continue_text(messages, answer_prefix=prefix, max_tokens=limit, stop=stop))
                generated += self.last_usage.completion_tokens
            self.last_usage = Usage(completion_tokens=generated)
            return texts
        started = time.monotonic()
        prompt = ops.render_chat(messages)
        with self._in_use, self._system_prompt_kept(messages):
            results = ops.continue_texts([prompt + prefix for prefix in answer_prefixes], max_tokens=max_tokens, stops=stops)
        self.last_usage = Usage(completion_tokens=sum(n for _, n in results), seconds=time.monotonic() - started)
        return [text for text, _ in results]

    def forget_cached_prompts(self) -> None:
        """Nothing cached any more: the next prompt is evaluated from its first token (benchmarks of uncached
        prompt processing)."""
        with self._in_use:
            if hasattr(self.backend, "reset"):
                self.backend.reset()
            if hasattr(self._llama_prefill, "forget_kept"):
                self._llama_prefill.forget_kept()

    @contextlib.contextmanager
    def _system_prompt_kept(self, messages: list[dict]):
        """Around one call to an in-process llama.cpp model (the lock held): the messages' system prompt is put back
        first if another task's prompt evicted it, and kept afterwards (LlamaPrefill.restore_prefix, keep_prefix),
        so chat turns and triage runs on one worker do not evaluate each other's system prompts again."""
        ops = self._prefill() if type(self.backend).__module__.startswith("llama_cpp") else None
        prefix = ops.system_tokens(messages) if ops is not None else []
        if prefix:
            ops.restore_prefix(prefix)
        yield
        if prefix:
            ops.keep_prefix(prefix)

    def _prefill(self):
        if hasattr(self.backend, "next_token_logits"):
            return self.backend  # the transformers backend (and any backend with the same three methods)
        if self._llama_prefill is None:
            from llm.llama_prefill import LlamaPrefill

            self._llama_prefill = LlamaPrefill(self.backend)
        return self._llama_prefill

    def count_tokens(self, messages: list[dict]) -> int:
        text = "\n".join(m["content"] for m in messages)
        return len(self.backend.tokenize(text.encode("utf-8"), add_bos=False))


def _first_token(ops, prompt: str, option: str) -> int:
    """The token that starts `option` right after `prompt`."""
    return tokens_after(ops, prompt, option)[0]


def generator(name: str | None = None) -> Generator:
    """The generative model named by LLM_MODEL (or `name`): a GGUF file run by llama.cpp, a local
    transformers model folder (llm/transformers_backend.py), or with LLM_BACKEND=openai the model
    of that name on the inference server at LLM_BASE_URL (llm/openai_backend.py)."""
    name = name or settings.LLM_MODEL
    with _lock:
        if name not in _generators:
            if settings.LLM_BACKEND == "openai":
                path, backend = None, OpenAIChatBackend(base_url=settings.LLM_BASE_URL, model=name, api_key=settings.LLM_API_KEY)
            else:
                path = resolve_generative_model(name, settings.LLM_MODEL_DIR)
                backend = _transformers_backend(path) if path.is_dir() else _llama_backend(path)
            if not _generators:
                atexit.register(_close_generators)
            _generators[name] = Generator(name=name, path=path, backend=backend, context_tokens=settings.LLM_CONTEXT_TOKENS)
        return _generators[name]


def generator_alongside(name: str | None, alias: str) -> Generator:
    """A second generator of the model `name` under the name `alias`, with a context of its own (a llama.cpp
    model's weights are mapped from the same file, so the OS holds them once): each keeps its own prompt prefix,
    as two workers would (the triage bench runs today's and the old path this way). `generator(alias)` finds it.
    A transformers folder or an inference server's model has no context to keep: the alias shares its backend."""
    first = generator(name)
    with _lock:
        if alias not in _generators:
            backend = _llama_backend(first.path) if first.path is not None and not first.path.is_dir() else first.backend
            _generators[alias] = Generator(name=alias, path=first.path, backend=backend, context_tokens=first.context_tokens)
        return _generators[alias]


def forget_generator(name: str | None = None) -> None:
    """Close and drop a loaded generator, so the next `generator(name)` loads it anew with the settings of
    then (the chat bench compares prompt-lookup decoding with the plain model this way)."""
    with _lock:
        loaded = _generators.pop(name or settings.LLM_MODEL, None)
        shared = loaded is not None and any(other.backend is loaded.backend for other in _generators.values())
    if loaded is not None and not shared:  # an alias's shared backend stays open for the generator it shares
        loaded.backend.close()


def _llama_backend(path: Path):
    from llama_cpp import Llama

    draft = {}
    if settings.LLM_PROMPT_LOOKUP_TOKENS > 0:
        from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

        # logits_all said outright: a draft model turns it on inside Llama, but the logits buffer is sized by the
        # argument (n_batch rows), and the first prompt longer than that fails to broadcast (llama-cpp-python 0.3.x).
        draft = {"draft_model": LlamaPromptLookupDecoding(num_pred_tokens=settings.LLM_PROMPT_LOOKUP_TOKENS), "logits_all": True}
    try:
        with _parallel_sequences_context():
            return Llama(model_path=str(path), n_ctx=settings.LLM_CONTEXT_TOKENS, n_threads=settings.LLM_THREADS,
                         n_batch=512, verbose=False, **draft)
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"Model {path} could not be loaded by llama.cpp: {exc}") from exc


@contextlib.contextmanager
def _parallel_sequences_context():
    """Llama() takes no argument for the number of sequences its context holds, and builds its context from
    llama_context_default_params(): that is widened here, while one Llama is made, to PARALLEL_SEQUENCES
    sequences sharing one KV cache of n_ctx cells (kv_unified; else each sequence gets n_ctx / n_seq_max), for
    Generator.continue_texts. One sequence at a time runs as fast as before (the cache is the same size)."""
    import llama_cpp.llama_cpp as low_level

    default = low_level.llama_context_default_params

    def widened():
        params = default()
        params.n_seq_max, params.kv_unified = PARALLEL_SEQUENCES, True
        return params

    with _lock_for_params:
        low_level.llama_context_default_params = widened
        try:
            yield
        finally:
            low_level.llama_context_default_params = default


def _transformers_backend(path: Path):
    from llm.transformers_backend import TransformersChatBackend

    try:
        return TransformersChatBackend(path, threads=settings.LLM_THREADS)
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"Model folder {path} could not be loaded by transformers: {exc}") from exc


def _close_generators() -> None:
    """Free llama.cpp contexts before the interpreter tears modules down (else it errors at exit)."""
    for backend in {id(g.backend): g.backend for g in _generators.values()}.values():  # a shared backend once
        backend.close()
    _generators.clear()
