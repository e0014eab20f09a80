"""Choose one of several options by the model's own next-token probabilities.

The options are listed with single-token keys (categories: A..Z then a..z, up to 52, each a
token no other key starts with; Qwen tokenizes 10..30 digit by digit, so numbers would not do
for long lists; short ordinal scales use 1..5) and the answer is read from the logits of the
first token the assistant writes: nothing is sampled, and the probability of the chosen option
is its confidence.

Contextual calibration (Zhao et al. 2021): the same question asked about a content-free input
("N/A") shows the model's bias towards some keys; the distribution is divided by it and
normalised again. The bias is computed once per model and prompt, and kept.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from llm import engine
from llm.services.common import LLMInputError

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DIGITS = "123456789"

_bias_lock = threading.Lock()
_bias: dict[tuple, list[float]] = {}


@dataclass(frozen=True)
class Choice:
    label: str
    confidence: float  # calibrated probability of `label`
    probabilities: dict[str, float]  # calibrated, over all labels
    raw: dict[str, float]  # as the model gave them


def option_lines(texts: list[str], keys: str = LETTERS) -> str:
    """'A) text' lines."""
    if not 2 <= len(texts) <= len(keys):
        raise LLMInputError(f"a choice needs 2 to {len(keys)} options (got {len(texts)}).")
    return "\n".join(f"{keys[i]}) {text}" for i, text in enumerate(texts))


def choose(*, system: str, user: str, content_free_user: str, labels: list[str], keys: str = LETTERS,
           model: str | None = None, calibrate: bool = True) -> Choice:
    """The label whose key the model is most likely to answer to system + user (calibrated against
    the same prompt with `content_free_user`). The options are listed in the prompt by the caller."""
    keys = list(keys[: len(labels)])
    generator = engine.generator(model)
    raw = generator.option_probabilities(_messages(system, user), options=keys)
    calibrated = raw
    if calibrate:
        bias = _content_free_bias(generator, system, content_free_user, keys)
        weights = [p / max(b, 1e-6) for p, b in zip(raw, bias, strict=True)]
        total = sum(weights)
        calibrated = [w / total for w in weights]
    best = max(range(len(labels)), key=calibrated.__getitem__)
    return Choice(label=labels[best], confidence=round(calibrated[best], 4),
                  probabilities=dict(zip(labels, calibrated, strict=True)), raw=dict(zip(labels, raw, strict=True)))


def _messages(system: str, user: str) -> list[dict]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _content_free_bias(generator, system: str, user: str, keys: list[str]) -> list[float]:
    key = (generator.name, system, user, tuple(keys))
    with _bias_lock:
        if key in _bias:
            return _bias[key]
    bias = generator.option_probabilities(_messages(system, user), options=keys)
    with _bias_lock:
        _bias[key] = bias
    return bias
