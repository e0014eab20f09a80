"""What `engine.Generator` needs from llama.cpp beyond chat completion: the chat template rendered as
text, the next token's logits after a prompt, and a plain continuation of a prefilled prompt.

llama-cpp-python keeps one context with its KV cache; each call here evaluates only the tokens after
the longest prefix it shares with what the context already holds (a triage ticket's classification
questions and its summary share the system prompt and the thread). Logits are read with
`llama_get_logits_ith(ctx, -1)` (the last position only), not `logprobs=`, which needs
`logits_all=True` (n_ctx x vocabulary floats). Several continuations of one prompt (a ticket's title and
summary fields) are decoded side by side as sequences of one batch (`continue_texts`): the context is made
for PARALLEL_SEQUENCES sequences sharing one KV cache (engine._llama_backend).

One context serves every task of a worker, so a chat turn evicts triage's system prompt and a triage run the
chat's (585 and 382 tokens: 14 s and 9 s of prompt processing on 2 AVX2 cores). The cells of each recent system
prompt are therefore kept (`keep_prefix`, about 11 MB for 400 tokens, 10 ms) and put back before a prompt that
starts with it is evaluated (`restore_prefix`, milliseconds).
"""

from __future__ import annotations

import ctypes
import os
from collections import OrderedDict

import numpy as np

PARALLEL_SEQUENCES = 5
KEPT_PREFIXES = 4  # constant prompt starts kept (the chat's, triage's per category set, ...), least recent dropped


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
        self._kept: OrderedDict[tuple[int, ...], bytes] = OrderedDict()  # prefix -> its cells (llama.cpp sequence state)
        self._system_tokens: dict[str, list[int]] = {}

    def render_chat(self, messages: list[dict]) -> str:
        """The prompt text up to the start of the assistant's answer (the generation prompt)."""
        return self._formatter(messages=messages).prompt

    def system_tokens(self, messages: list[dict]) -> list[int]:
        """The tokens every prompt with this system message starts with, up to where the first user message's
        content begins (empty without a system message)."""
        if not messages or messages[0].get("role") != "system":
            return []
        system = messages[0]["content"]
        if system not in self._system_tokens:
            two_users = [self.tokenize_text(self.render_chat([messages[0], {"role": "user", "content": text}])) for text in "ab"]
            if len(self._system_tokens) >= 16:
                self._system_tokens.clear()
            self._system_tokens[system] = os.path.commonprefix(two_users)
        return self._system_tokens[system]

    def restore_prefix(self, prefix: list[int]) -> bool:
        """Before a prompt that starts with `prefix` is evaluated: if the context no longer holds all of it but
        `keep_prefix` kept it, put its cells back on the main sequence in place of what it held. Returns whether
        it did."""
        import llama_cpp

        key = tuple(prefix)
        if not key or key not in self._kept or self._tokens_held(prefix) == len(prefix):
            return False
        state = self._kept[key]
        self._kept.move_to_end(key)
        llama, ctx = self.llama, self.llama._ctx.ctx
        memory = llama_cpp.llama_get_memory(ctx)
        llama_cpp.llama_memory_seq_rm(memory, 0, -1, -1)
        buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        if llama_cpp.llama_state_seq_set_data(ctx, buffer, len(state), 0) != len(state):
            llama_cpp.llama_memory_seq_rm(memory, 0, -1, -1)
            llama.n_tokens = 0
            del self._kept[key]
            return False
        llama.input_ids[: len(prefix)] = prefix
        llama.n_tokens = len(prefix)
        return True

    def keep_prefix(self, prefix: list[int]) -> None:
        """After a prompt that started with `prefix` (a system prompt) was evaluated: keep the main sequence's cells
        of `prefix` (copied to the spare sequence that questions asked aside use, and saved from there) for a later
        restore_prefix, if the context holds all of `prefix` and it is not kept yet."""
        import llama_cpp

        key = tuple(prefix)
        if key in self._kept:
            self._kept.move_to_end(key)
            return
        if not key or self._tokens_held(prefix) < len(prefix):
            return
        ctx = self.llama._ctx.ctx
        memory, spare = llama_cpp.llama_get_memory(ctx), self.parallel_sequences() - 1
        llama_cpp.llama_memory_seq_cp(memory, 0, spare, 0, len(prefix))  # the prefix's cells only, not copied
        try:
            size = llama_cpp.llama_state_seq_get_size(ctx, spare)
            buffer = (ctypes.c_uint8 * size)()
            written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, spare)
        finally:
            llama_cpp.llama_memory_seq_rm(memory, spare, -1, -1)
        if not written:
            return
        self._kept[key] = ctypes.string_at(buffer, written)
        while len(self._kept) > KEPT_PREFIXES:
            self._kept.popitem(last=False)

    def forget_kept(self) -> None:
        self._kept.clear()

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
        shared = min(self._tokens_held(tokens), len(tokens) - 1)  # at least one token is evaluated: fresh logits
        llama.n_tokens = shared
        llama.eval(tokens[shared:])
        pointer = llama_cpp.llama_get_logits_ith(llama._ctx.ctx, -1)
        logits = np.ctypeslib.as_array(pointer, shape=(llama.n_vocab(),)).copy()
        return logits, len(tokens) - shared

    def next_token_logits_aside(self, prompt: str) -> tuple[np.ndarray, int]:
        """next_token_logits evaluated on a sequence of its own, dropped afterwards: what the context holds for
        the main sequence (the prompt the next call will most likely share, such as the chat's constant system
        prompt) stays, and the next call reuses it. The whole prompt is evaluated (nothing is shared). When the
        cells the main sequence does not use cannot hold it, it is evaluated as next_token_logits does (in place of
        what the context held)."""
        import llama_cpp

        llama, ctx = self.llama, self.llama._ctx.ctx
        tokens = self.tokenize_text(prompt)
        if llama.n_tokens + len(tokens) >= llama.n_ctx():
            return self.next_token_logits(prompt)
        seq = self.parallel_sequences() - 1
        batch = llama_cpp.llama_batch_init(llama.n_batch, 0, 1)
        try:
            for start in range(0, len(tokens), llama.n_batch):
                chunk = tokens[start:start + llama.n_batch]
                batch.n_tokens = len(chunk)
                for row, token in enumerate(chunk):
                    batch.token[row], batch.pos[row], batch.n_seq_id[row] = token, start + row, 1
                    batch.seq_id[row][0], batch.logits[row] = seq, start + row == len(tokens) - 1
                if llama_cpp.llama_decode(ctx, batch) != 0:
                    raise RuntimeError("llama_decode failed while evaluating a prompt aside")
            pointer = llama_cpp.llama_get_logits_ith(ctx, batch.n_tokens - 1)
            logits = np.ctypeslib.as_array(pointer, shape=(llama.n_vocab(),)).copy()
        finally:
            llama_cpp.llama_batch_free(batch)
            llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(ctx), seq, -1, -1)
        return logits, len(tokens)

    def _tokens_held(self, tokens: list[int]) -> int:
        """How many of `tokens`, from the start, the context already holds."""
        held = 0
        for have, want in zip(self.llama.input_ids[: self.llama.n_tokens], tokens):
            if have != want:
                break
            held += 1
        return held

    def continue_text(self, prompt: str, *, max_tokens: int, stop: list[str]) -> tuple[str, int]:
        """(text generated after `prompt` at temperature 0 until a stop string, tokens generated)."""
        result = self.llama.create_completion(prompt=self.tokenize_text(prompt), max_tokens=max_tokens, temperature=0.0,
                                              stop=stop)
        return result["choices"][0]["text"], result["usage"]["completion_tokens"]

    def parallel_sequences(self) -> int:
        import llama_cpp

        return int(llama_cpp.llama_n_seq_max(self.llama._ctx.ctx))

    def continue_texts(self, prompts: list[str], *, max_tokens: list[int], stops: list[list[str]]) -> list[tuple[str, int]]:
        """continue_text for each of `prompts` (which share their start; `stops[i]` ends the i-th), decoded side by
        side: the first batch holds what the context does not yet hold of the shared start (each of its tokens
        belongs to every sequence) and each prompt's own end, then each step decodes the next token of every
        unfinished prompt in one batch (greedy, as continue_text at temperature 0). On 2 cores a step of 3 tokens
        takes about 1.9x a step of one (`bench --part triage` measures the whole). Afterwards the context holds the
        shared start only, so the next call reuses it."""
        import llama_cpp

        llama, ctx = self.llama, self.llama._ctx.ctx
        tokens = [self.tokenize_text(prompt) for prompt in prompts]
        if len(prompts) > self.parallel_sequences():
            raise ValueError(f"{len(prompts)} prompts at once; the context holds {self.parallel_sequences()} sequences")
        common = min(len(t) for t in tokens) - 1  # every prompt keeps at least one token of its own to evaluate
        for i, token in enumerate(tokens[0][:common]):
            if any(t[i] != token for t in tokens[1:]):
                common = i
                break
        shared = min(self._tokens_held(tokens[0]), common)
        own = sum(len(t) - common for t in tokens)
        if common - shared + own > llama.n_batch:
            raise ValueError(f"the prompts need {common - shared + own} tokens evaluated at once; one batch holds "
                             f"{llama.n_batch}")
        if common + own + sum(max_tokens) >= llama.n_ctx():
            raise ValueError(f"the prompts need {common + own + sum(max_tokens)} cells; the context holds {llama.n_ctx()}")
        memory = llama_cpp.llama_get_memory(ctx)
        llama._ctx.kv_cache_seq_rm(-1, shared, -1)  # what follows the reused start is another prompt's
        for seq in range(1, len(prompts)):
            llama_cpp.llama_memory_seq_cp(memory, 0, seq, 0, shared)
        batch = llama_cpp.llama_batch_init(common - shared + own, 0, len(prompts))
        held = shared  # what the context holds for certain afterwards: the whole shared start once the first batch is in
        try:
            results = self._decode_side_by_side(batch, tokens, shared, common, max_tokens, stops)
            held = common
            return results
        finally:
            llama_cpp.llama_batch_free(batch)
            for seq in range(1, len(prompts)):
                llama_cpp.llama_memory_seq_rm(memory, seq, -1, -1)
            llama_cpp.llama_memory_seq_rm(memory, 0, held, -1)
            llama.input_ids[shared:held] = tokens[0][shared:held]
            llama.n_tokens = held

    def _decode_side_by_side(self, batch, tokens: list[list[int]], shared: int, common: int, max_tokens: list[int],
                             stops: list[list[str]]) -> list[tuple[str, int]]:
        import llama_cpp

        llama, ctx = self.llama, self.llama._ctx.ctx
        generated: list[list[int]] = [[] for _ in tokens]
        texts = [""] * len(tokens)
        position = {seq: common for seq in range(len(tokens))}
        pending = {seq: t[common:] for seq, t in enumerate(tokens)}  # the tokens each sequence evaluates next
        batch.n_tokens = 0
        for row, token in enumerate(tokens[0][shared:common]):  # the shared start's rest, in every sequence
            batch.token[row], batch.pos[row], batch.n_seq_id[row], batch.logits[row] = token, shared + row, len(tokens), False
            for seq in range(len(tokens)):
                batch.seq_id[row][seq] = seq
            batch.n_tokens += 1
        while pending:
            row_of = {}
            for seq, feed in pending.items():
                for j, token in enumerate(feed):
                    row = batch.n_tokens
                    batch.token[row], batch.pos[row], batch.n_seq_id[row] = token, position[seq], 1
                    batch.seq_id[row][0], batch.logits[row] = seq, j == len(feed) - 1
                    position[seq] += 1
                    batch.n_tokens += 1
                row_of[seq] = batch.n_tokens - 1
            if llama_cpp.llama_decode(ctx, batch) != 0:
                raise RuntimeError("llama_decode failed while decoding continuations side by side")
            batch.n_tokens = 0
            for seq, row in row_of.items():
                logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, row), shape=(llama.n_vocab(),))
                token = int(np.argmax(logits))
                if llama_cpp.llama_vocab_is_eog(llama._model.vocab, token):
                    del pending[seq]
                    continue
                generated[seq].append(token)
                text = llama.detokenize(generated[seq]).decode("utf-8", errors="ignore")
                ends = [text.index(s) for s in stops[seq] if s in text]
                texts[seq] = text[: min(ends)] if ends else text
                if ends or len(generated[seq]) >= max_tokens[seq]:
                    del pending[seq]
                else:
                    pending[seq] = [token]
        return [(text, len(done)) for text, done in zip(texts, generated, strict=True)]


def tokens_after(ops, prompt: str, text: str) -> list[int]:
    """The tokens of `text` right after `prompt`, tokenized in context (a space or a newline before it changes
    the first token); the end of the prompt stands in for all of it. `ops` has `tokenize_text` (LlamaPrefill,
    the transformers backend)."""
    tail = prompt[-32:]
    base, full = ops.tokenize_text(tail), ops.tokenize_text(tail + text)
    return full[len(base):] if len(full) > len(base) and full[: len(base)] == base else ops.tokenize_text(text)
