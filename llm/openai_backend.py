"""A model behind an OpenAI-compatible inference server (LLM_BACKEND=openai), served to
`engine.Generator` through llama.cpp's small interface, like llm/transformers_backend.py.

llama.cpp's `llama-server` (parallel slots, continuous batching on CPU), vLLM (GPUs), Ollama and
llama-cpp-python's own server all speak the same HTTP API; they differ in what they support, so
the first use asks the server (llm/openai_capabilities.py) and uses what is there:

- JSON-schema output: OpenAI's `json_schema` response format, else llama.cpp's `json_object` with a
  `schema`, else the schema in the system prompt and the caller's check (as with transformers).
- top logprobs for `option_probabilities` and `text_probabilities`, and `continue_text`: after an
  assistant-prefix message where the server continues one (llama-server, vLLM); where it does not
  (llama-cpp-python's server), the whole prompt is written here with the model's own chat template
  (LLM_PROMPT_TEMPLATE, read from the GGUF file) and sent to /v1/completions, so the server reads
  exactly what the in-process model reads; with neither, a request in words for what follows.

Errors keep the engine's contract, so the durable retry paths hold: an unreachable or busy server
(connection refused, 429, 502-504) is tried LLM_HTTP_RETRIES more times with backoff, then raises
GenerationUnavailable (a GenerationTimeout); a stream that breaks off raises it with the partial
text; a server silent past the time limit raises GenerationTimeout. A request the server refuses
(400, 401, 404) is InferenceServerError: retrying would not help.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

from django.conf import settings

from llm.errors import GenerationTimeout, GenerationUnavailable
from llm.llama_prefill import LlamaPrefill, tokens_after
from llm.model_files import ModelFileError, resolve_generative_model
from llm.openai_capabilities import PREFILL_FIELDS, InferenceServerError, describe, probe, schema_request

logger = logging.getLogger(__name__)
RETRY_STATUSES = {429, 502, 503, 504}
TOP_LOGPROBS = 20  # the most OpenAI and vLLM (max_logprobs) give
MISSING_SHARE = 1e-4  # the probability given to a text whose next token is not among the top ones


class OpenAIChatBackend:
    concurrent = True  # the server batches; engine.Generator does not serialise calls to it

    def __init__(self, *, base_url: str, model: str, api_key: str = "", retries: int | None = None):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.retries = settings.LLM_HTTP_RETRIES if retries is None else retries
        self._capabilities: dict | None = None
        self._probe_lock = threading.Lock()
        self._writer, self._writer_read = None, False
        self._writer_lock = threading.Lock()

    # --- what Generator calls ------------------------------------------------------------------

    def create_chat_completion(self, *, messages: list[dict], max_tokens: int, temperature: float, stream: bool,
                               stop: list[str], response_format: dict | None = None) -> Iterator[dict]:
        caps = self.capabilities()
        body = {"model": self.model, "messages": messages, "max_tokens": max_tokens, "temperature": temperature,
                "stream": True, **caps["sampling"]}
        if stop:
            body["stop"] = stop
        if response_format is not None:
            body["messages"], extra = schema_request(messages, response_format["schema"], caps["json_schema"])
            body.update(extra)
        return self._stream(body)

    def option_probabilities(self, messages: list[dict], *, options: list[str], answer_prefix: str = "") -> list[float]:
        """One-token chat completion with top logprobs; each option's share of the probability of
        the next tokens it can start with, normalised over the options."""
        if not isinstance(options, list) or len(options) < 2 or not all(isinstance(o, str) and o for o in options):
            raise ValueError("options must be a list of at least two non-empty strings.")
        if len(set(options)) != len(options):
            raise ValueError("options must differ from each other.")
        caps = self.capabilities()
        if answer_prefix and not (caps["prefill"] or caps["completions"]):
            raise InferenceServerError(f"the server at {self.base_url} does not continue an assistant prefix.")
        return option_shares(self._top_logprobs(messages, answer_prefix), options)

    def text_probabilities(self, messages: list[dict], *, texts: list[str], answer_prefix: str = "") -> list[float]:
        """Each text's probability as what the assistant writes after `answer_prefix`, walked along the server's
        top logprobs: one request per point where texts that start alike part ("order-status", "order-change"
        share "order"), as the in-process trie walk does with token ids (engine.Generator.text_probabilities).
        A text none of whose next tokens is among the top ones gets a small floor probability; a text that ends
        where another goes on gets the probability of stopping there. A server that does not continue an
        assistant prefix is sent the whole prompt, or else asked in words (as continue_text does)."""
        log_p = [0.0] * len(texts)
        splits = self._split_as_the_model_does(messages, answer_prefix, texts)

        def walk(written: str, depth: int, members: list[int]) -> None:
            top = self._top_logprobs(messages, answer_prefix + written)
            branches: dict[str | None, list[int]] = {}
            shares: dict[str, float] = {}
            for i in members:
                if splits[i] is not None:  # the model's own split: its next token, looked up among the top ones
                    piece = splits[i][depth] if depth < len(splits[i]) else ""
                    share = max((math.exp(t["logprob"]) for t in top if t.get("token") == piece), default=None)
                    piece = piece if share is not None or piece == "" else None
                else:
                    piece, share = next_piece(top, texts[i][len(written):])
                branches.setdefault(piece, []).append(i)
                if piece:
                    shares[piece] = share
            going_on = sum(shares.values())
            for piece, group in branches.items():
                share = shares[piece] if piece else (max(1.0 - going_on, MISSING_SHARE) if piece == "" else MISSING_SHARE)
                for i in group:
                    log_p[i] += math.log(share)
                if piece and len(group) > 1:
                    walk(written + piece, depth + 1, group)

        walk("", 0, list(range(len(texts))))
        if all(p <= math.log(MISSING_SHARE) for p in log_p):
            logger.warning("none of the texts %s is among the server's top %d next tokens", texts, TOP_LOGPROBS)
        weights = [math.exp(p - max(log_p)) for p in log_p]
        return [w / sum(weights) for w in weights]

    def _split_as_the_model_does(self, messages: list[dict], answer_prefix: str, texts: list[str]) -> list[list[str] | None]:
        """Each text as the pieces of the tokens the model reads it in after the prompt, where the model's
        tokenizer is on this machine (prompt_writer); else None, and the walk guesses from the top tokens
        (next_piece). A text whose pieces do not spell it back (a character cut between two tokens) is None."""
        writer = self.prompt_writer()
        if writer is None:
            return [None] * len(texts)
        prompt = writer.render_chat(messages) + answer_prefix
        splits: list[list[str] | None] = []
        for text in texts:
            pieces = [writer.llama.detokenize([token]).decode("utf-8", "replace") for token in tokens_after(writer, prompt, text)]
            splits.append(pieces if "".join(pieces) == text else None)
        return splits

    def _top_logprobs(self, messages: list[dict], answer_prefix: str) -> list[dict]:
        """The top logprobs of the first token the assistant writes after `answer_prefix`."""
        caps = self.capabilities()
        if not caps["logprobs"]:
            raise InferenceServerError(f"the server at {self.base_url} gives no logprobs, so option probabilities cannot be read.")
        if answer_prefix and self._whole_prompts():
            data = self.post_json("/completions", self._completion(messages, answer_prefix, max_tokens=1, logprobs=TOP_LOGPROBS))
            try:
                top = data["choices"][0]["logprobs"]["top_logprobs"][0]
                return [{"token": token, "logprob": logprob} for token, logprob in top.items()]
            except (KeyError, IndexError, TypeError, AttributeError):
                raise InferenceServerError(f"the server's completion has no top logprobs: {str(data)[:200]}") from None
        turn, extra = self._continuation(answer_prefix) if answer_prefix else (None, {})
        body = {"model": self.model, "messages": [*messages, *([turn] if turn else [])], "max_tokens": 1, "temperature": 0.0,
                "logprobs": True, "top_logprobs": TOP_LOGPROBS, **caps["sampling"], **extra}
        data = self.post_json("/chat/completions", body)
        try:
            return data["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        except (KeyError, IndexError, TypeError):
            raise InferenceServerError(f"the server's answer has no top logprobs: {str(data)[:200]}") from None

    def _continuation(self, answer_prefix: str) -> tuple[dict, dict]:
        """The turn (and request fields) after which the server writes what follows `answer_prefix`: an assistant
        message it continues, or, where it cannot, a request in words."""
        if self.capabilities()["prefill"]:
            return {"role": "assistant", "content": answer_prefix}, PREFILL_FIELDS
        return {"role": "user", "content": "Write only the text that comes right after this, nothing before it and no "
                                           f"explanation:\n{answer_prefix}"}, {}

    def continue_text(self, messages: list[dict], *, answer_prefix: str, max_tokens: int, stop: list[str]) -> tuple[str, int]:
        """What the assistant writes after `answer_prefix` (an assistant message the server continues, or
        the whole prompt written here), at temperature 0, up to the first stop string; with the number of
        tokens generated."""
        caps = self.capabilities()
        whole_prompts = self._whole_prompts()
        if whole_prompts:
            data = self.post_json("/completions", self._completion(messages, answer_prefix, max_tokens=max_tokens, stop=stop))
        else:
            turn, extra = self._continuation(answer_prefix)
            body = {"model": self.model, "messages": [*messages, turn], "max_tokens": max_tokens, "temperature": 0.0,
                    "stop": stop, **caps["sampling"], **extra}
            data = self.post_json("/chat/completions", body)
        try:
            choice = data["choices"][0]
            text = (choice["text"] if whole_prompts else choice["message"]["content"]) or ""
        except (KeyError, IndexError, TypeError):
            raise InferenceServerError(f"the server's answer has no text: {str(data)[:200]}") from None
        if text.startswith(answer_prefix):  # some servers echo the prefix they continued
            text = text[len(answer_prefix):]
        return text, int((data.get("usage") or {}).get("completion_tokens") or 0)

    def tokenize(self, text: bytes, add_bos: bool = False) -> list[int]:
        """The model's tokens where its GGUF file is on this machine (LLM_PROMPT_TEMPLATE), else an
        estimate (about 4 bytes a token): the OpenAI API has no tokenizer, and the count only feeds
        the usage figures."""
        if (writer := self.prompt_writer()) is not None:
            return writer.llama.tokenize(text, add_bos=add_bos)
        return [0] * max(1, math.ceil(len(text) / 4))

    # --- whole prompts, for a server that does not continue an assistant message ----------------

    def prompt_writer(self):
        """The served model's chat template and tokenizer (llm/llama_prefill.py), read from the GGUF file
        LLM_PROMPT_TEMPLATE names (default: LLM_MODEL where that names one on this machine), or None.
        A file named in LLM_PROMPT_TEMPLATE that cannot be read is an error; the default may be absent."""
        with self._writer_lock:
            if not self._writer_read:
                source = settings.LLM_PROMPT_TEMPLATE or self.model
                if source.lower() != "none":
                    try:
                        path = resolve_generative_model(source, settings.LLM_MODEL_DIR)
                        self._writer = LlamaPrefill.vocabulary_only(path) if path.is_file() else None
                    except (ModelFileError, ValueError, RuntimeError, OSError) as exc:  # missing, no template, unreadable
                        if settings.LLM_PROMPT_TEMPLATE:
                            raise ModelFileError(f"LLM_PROMPT_TEMPLATE={source!r}: {exc}") from exc
                        logger.info("no chat template for %s on this machine (%s)", source, exc)
                self._writer_read = True
            return self._writer

    def _whole_prompts(self) -> bool:
        caps = self.capabilities()
        return not caps["prefill"] and caps["completions"]

    def _completion(self, messages: list[dict], answer_prefix: str, **fields) -> dict:
        """A /v1/completions request for what the assistant writes after `answer_prefix`: the prompt written
        with the model's chat template, as the in-process model reads it (llm/llama_prefill.py)."""
        prompt = self.prompt_writer().render_chat(messages) + answer_prefix
        return {"model": self.model, "prompt": prompt, "temperature": 0.0, **self.capabilities()["sampling"], **fields}

    def reset(self) -> None:
        """Nothing to reset here: the server keeps (and reuses) its own prompt cache."""

    def close(self) -> None:
        """Nothing held open between requests."""

    # --- capabilities ----------------------------------------------------------------------------

    def capabilities(self) -> dict:
        """What the server supports, probed once per process (llm/openai_capabilities.py). An
        unreachable server raises GenerationUnavailable and is asked again next time."""
        if self._capabilities is None:
            with self._probe_lock:
                if self._capabilities is None:
                    self._capabilities = probe(self)
                    logger.info("LLM backend: %s", describe(self._capabilities))
        return self._capabilities

    # --- HTTP ------------------------------------------------------------------------------------

    def post_json(self, path: str, body: dict, *, timeout: float | None = None) -> dict:
        with self._open("POST", path, body, timeout=timeout) as response:
            return json.loads(response.read())

    def get_json(self, path: str, *, timeout: float | None = None, retries: int | None = None) -> dict:
        with self._open("GET", path, None, timeout=timeout, retries=retries) as response:
            return json.loads(response.read())

    def _open(self, method: str, path: str, body: dict | None, *, timeout: float | None = None, retries: int | None = None):
        """The server's response, after up to `retries` more tries while it is unreachable or busy."""
        timeout = timeout or settings.LLM_TIMEOUT_SECONDS
        retries = self.retries if retries is None else retries
        headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(retries + 1):
            request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
            try:
                return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - the configured server URL
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:300].decode("utf-8", "replace")
                if exc.code not in RETRY_STATUSES:
                    raise InferenceServerError(f"{method} {path} answered {exc.code}: {detail}") from None
                problem, wait = f"answered {exc.code} (busy)", _retry_after(exc.headers.get("Retry-After"), attempt)
            except (urllib.error.URLError, ConnectionError, http.client.HTTPException) as exc:
                reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
                if isinstance(reason, TimeoutError):
                    raise GenerationTimeout(f"the inference server sent nothing for {timeout:.0f} s") from None
                problem, wait = f"is unreachable ({reason})", 0.5 * 2 ** attempt
            except TimeoutError:
                raise GenerationTimeout(f"the inference server sent nothing for {timeout:.0f} s") from None
            if attempt < retries:
                logger.warning("inference server %s %s; try %d of %d in %.1f s", self.base_url, problem, attempt + 2, retries + 1, wait)
                time.sleep(wait)
        raise GenerationUnavailable(f"the inference server at {self.base_url} {problem}")

    def _stream(self, body: dict) -> Iterator[dict]:
        """Chat-completion chunks from the server's server-sent events, in llama.cpp's shape."""
        response = self._open("POST", "/chat/completions", body)
        produced: list[str] = []
        finished = False
        try:
            for raw in response:
                line = raw.decode("utf-8").strip()
                if not line.startswith("data:"):
                    continue  # blank separators, ": ping" comments, "event:" lines
                payload = line[5:].strip()
                if payload == "[DONE]":
                    finished = True
                    break
                event = json.loads(payload)
                if "error" in event:
                    raise InferenceServerError(f"the server stopped with an error: {str(event['error'])[:300]}")
                for choice in event.get("choices") or []:  # the usage chunk has none
                    piece = (choice.get("delta") or {}).get("content") or ""
                    if piece:
                        produced.append(piece)
                        yield {"choices": [{"delta": {"content": piece}}]}
                    finished = finished or bool(choice.get("finish_reason"))
        except TimeoutError:
            raise GenerationTimeout("the inference server went silent mid-answer", "".join(produced)) from None
        except (ConnectionError, http.client.HTTPException, OSError) as exc:  # reset, incomplete chunk, ...
            raise GenerationUnavailable(f"the inference server broke off mid-answer ({type(exc).__name__})", "".join(produced)) from None
        finally:
            response.close()  # also when the consumer stops early: the server then stops generating
        if not finished:
            raise GenerationUnavailable("the inference server closed the answer before its end", "".join(produced))


def next_piece(top_logprobs: list[dict], rest: str) -> tuple[str | None, float]:
    """The top token `rest` most likely goes on with, where the model's tokenizer is not at hand: the likeliest
    top token that starts it as written ("com" for "complaint", not the rarer "comp", nor " complaint", a whole
    word after a space); failing that, the likeliest that starts it once its leading space is dropped. Case is
    kept ("Order" is not "order"). ("", 0.0) where the text ends; (None, 0.0) where no top token fits."""
    if not rest:
        return "", 0.0
    for form in (lambda token: token, lambda token: token.lstrip()):
        fitting = [(form(t["token"]), math.exp(t["logprob"])) for t in top_logprobs
                   if t.get("token") and form(t["token"]) and rest.startswith(form(t["token"]))]
        if fitting:
            return max(fitting, key=lambda fit: fit[1])
    return None, 0.0


def option_shares(top_logprobs: list[dict], options: list[str]) -> list[float]:
    """Each option's probability: that of the longest top token it starts with, normalised over the
    options (a token that starts several options counts for each: the options' first tokens differ
    by contract, so that is only a shorter alternative spelling). All missing: equal shares."""
    scores = []
    for option in options:
        matches = [t for t in top_logprobs if t.get("token") and option.lower().startswith(t["token"].strip().lower() or "\0")]
        best = max(matches, key=lambda t: len(t["token"].strip()), default=None)
        scores.append(math.exp(best["logprob"]) if best else 0.0)
    total = sum(scores)
    if total == 0:
        logger.warning("none of the options %s is among the server's top %d next tokens", options, len(top_logprobs))
        return [1 / len(options)] * len(options)
    return [score / total for score in scores]


def _retry_after(header: str | None, attempt: int) -> float:
    try:
        return min(max(float(header), 0.0), 10.0)
    except (TypeError, ValueError):
        return 0.5 * 2 ** attempt
