"""What `engine.Generator` needs from llama.cpp beyond chat completion: the chat template rendered as
text, the next token's logits after a prompt, and a plain continuation of a prefilled prompt.

llama-cpp-python keeps one context with its KV cache; each call here evaluates only the tokens after
the longest prefix it shares with what the context already holds (a triage ticket's classification
questions and its summary share the system prompt and the thread). Logits are read with
`llama_get_logits_ith(ctx, -1)` (the last position only), not `logprobs=`, which needs
`logits_all=True` (n_ctx x vocabulary floats).
"""

from __future__ import annotations

import numpy as np


class LlamaPrefill:
    @classmethod
    def vocabulary_only(cls, path) -> LlamaPrefill:
        """The chat template and tokenizer of a GGUF file without its weights (milliseconds, a few MB):
        to write prompts for a server that runs the model (llm/openai_backend.py)."""
        from llama_cpp import Llama

        return cls(Llama(model_path=str(path), vocab_only=True, verbose=False))

    def __init__(self, llama):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.llama = llama
        template = llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise ValueError("the GGUF file has no chat template")
        model = llama._model
        eos, bos = llama.token_eos(), llama.token_bos()
        self._formatter = Jinja2ChatFormatter(template=template, eos_token=model.token_get_text(eos) if eos != -1 else "",
                                              bos_token=model.token_get_text(bos) if bos != -1 else "")

    def render_chat(self, messages: list[dict]) -> str:
        """The prompt text up to the start of the assistant's answer (the generation prompt)."""
        return self._formatter(messages=messages).prompt

    def tokenize_text(self, text: str) -> list[int]:
        return self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def next_token_logits(self, prompt: str, after: list[int] = ()) -> tuple[np.ndarray, int]:
        """(logits of the token after `prompt` and then the tokens `after`, tokens evaluated now): the
        shared prefix is kept."""
        import llama_cpp

        llama = self.llama
        tokens = self.tokenize_text(prompt) + list(after)
        if len(tokens) >= llama.n_ctx():
            raise ValueError(f"the prompt has {len(tokens)} tokens; the context holds {llama.n_ctx()}")
        shared = 0
        for held, wanted in zip(llama.input_ids[: llama.n_tokens], tokens):
            if held != wanted:
                break
            shared += 1
        shared = min(shared, len(tokens) - 1)  # at least one token is evaluated, so the logits are fresh
        llama.n_tokens = shared
        llama.eval(tokens[shared:])
        pointer = llama_cpp.llama_get_logits_ith(llama._ctx.ctx, -1)
        logits = np.ctypeslib.as_array(pointer, shape=(llama.n_vocab(),)).copy()
        return logits, len(tokens) - shared

    def continue_text(self, prompt: str, *, max_tokens: int, stop: list[str]) -> tuple[str, int]:
        """(text generated after `prompt` at temperature 0 until a stop string, tokens generated)."""
        result = self.llama.create_completion(prompt=self.tokenize_text(prompt), max_tokens=max_tokens, temperature=0.0,
                                              stop=stop)
        return result["choices"][0]["text"], result["usage"]["completion_tokens"]


def tokens_after(ops, prompt: str, text: str) -> list[int]:
    """The tokens of `text` right after `prompt`, tokenized in context (a space or a newline before it changes
    the first token); the end of the prompt stands in for all of it. `ops` has `tokenize_text` (LlamaPrefill,
    the transformers backend)."""
    tail = prompt[-32:]
    base, full = ops.tokenize_text(tail), ops.tokenize_text(tail + text)
    return full[len(base):] if len(full) > len(base) and full[: len(base)] == base else ops.tokenize_text(text)
