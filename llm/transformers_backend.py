"""A local transformers model folder served behind llama.cpp's small interface.

`engine.Generator` talks to its backend through `create_chat_completion(stream=True)` and
`tokenize`; this adapter gives a Hugging Face causal LM folder (config.json, weights, tokenizer
with a chat template) the same two methods, so every service works unchanged on either kind of
model. Loading is offline only (`local_files_only`).

One difference, by design of the libraries: llama.cpp enforces a JSON schema with a grammar while
decoding; transformers has no grammar sampler, so here the schema is given to the model in the
system prompt and the caller's parser checks the output (invalid JSON or an out-of-set label is
an LLMOutputError, as with any model). Prefer GGUF for production: it is also 3-5x faster on CPU.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path


class TransformersChatBackend:
    def __init__(self, path: Path, *, threads: int):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(threads)
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        if not self.tokenizer.chat_template:
            raise ValueError("its tokenizer has no chat template")
        self.model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, dtype=torch.float32)
        self.model.eval()

    def tokenize(self, text: bytes, add_bos: bool = False) -> list[int]:
        return self.tokenizer.encode(text.decode("utf-8"), add_special_tokens=add_bos)

    def create_chat_completion(self, *, messages: list[dict], max_tokens: int, temperature: float, stream: bool,
                               stop: list[str], response_format: dict | None = None) -> Iterator[dict]:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        if response_format is not None:
            messages = with_schema_instruction(messages, response_format["schema"])
        inputs = self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                                    return_dict=True)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        cancelled = threading.Event()

        class _Cancelled(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                return cancelled.is_set()

        generate_kwargs = {
            **inputs, "streamer": streamer, "max_new_tokens": max_tokens,
            "stopping_criteria": StoppingCriteriaList([_Cancelled()]),
            "pad_token_id": self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
        }
        if temperature > 0:
            generate_kwargs.update(do_sample=True, temperature=temperature)
        else:
            generate_kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        failure: list[BaseException] = []

        def decode():
            try:
                self.model.generate(**generate_kwargs)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer below
                failure.append(exc)
                streamer.end()  # else the consumer would wait for text forever

        worker = threading.Thread(target=decode, daemon=True)
        worker.start()
        try:
            yield from _until_stop(streamer, stop)
            if failure:
                raise RuntimeError(f"transformers generation failed: {failure[0]}") from failure[0]
        finally:
            # The consumer stopped early (a stop string, a time limit, a closed stream): end decoding.
            # The streamer's queue is unbounded, so the decoding thread never blocks on it.
            cancelled.set()
            worker.join()

    # The three methods engine.Generator.option_probabilities / continue_text use (llm/llama_prefill.py for
    # llama.cpp). No KV cache is kept between calls here: each call runs the whole prompt.
    def render_chat(self, messages: list[dict]) -> str:
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    def tokenize_text(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False)

    def next_token_logits(self, prompt: str, after: list[int] = ()):
        import torch

        ids = torch.tensor([self.tokenize_text(prompt) + list(after)])
        with torch.no_grad():
            logits = self.model(input_ids=ids).logits[0, -1]
        return logits.float().numpy(), ids.shape[1]

    def continue_text(self, prompt: str, *, max_tokens: int, stop: list[str]) -> tuple[str, int]:
        import torch

        ids = torch.tensor([self.tokenize_text(prompt)])
        with torch.no_grad():
            output = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_tokens,
                                         do_sample=False, temperature=None, top_p=None, top_k=None,
                                         pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id)
        new = output[0, ids.shape[1]:]
        text = "".join(chunk["choices"][0]["delta"]["content"]
                       for chunk in _until_stop(iter([self.tokenizer.decode(new, skip_special_tokens=True)]), stop))
        return text, int(new.shape[0])

    def close(self) -> None:
        self.model = None


def _until_stop(pieces: Iterator[str], stop: list[str]) -> Iterator[dict]:
    """Chat-completion chunks of the text, ending before the first stop string (held back until sure)."""
    pending = ""
    longest = max((len(s) for s in stop), default=0)
    for piece in pieces:
        pending += piece
        hits = [pending.index(s) for s in stop if s in pending]
        if hits:
            if text := pending[: min(hits)]:
                yield _chunk(text)
            return
        # Keep back a tail that could be the start of a stop string.
        safe = len(pending) - (longest - 1) if longest else len(pending)
        if safe > 0:
            yield _chunk(pending[:safe])
            pending = pending[safe:]
    if pending:
        yield _chunk(pending)


def _chunk(text: str) -> dict:
    return {"choices": [{"delta": {"content": text}}]}


def with_schema_instruction(messages: list[dict], schema: dict) -> list[dict]:
    instruction = f"Reply with one JSON object that matches this JSON schema, and nothing else:\n{json.dumps(schema)}"
    if messages and messages[0]["role"] == "system":
        return [{"role": "system", "content": f"{messages[0]['content']}\n\n{instruction}"}, *messages[1:]]
    return [{"role": "system", "content": instruction}, *messages]
