"""Choose one of several options by the model's own next-token probabilities: nothing is sampled,
and the probability of the chosen option is its confidence.

Two ways to name the options:
- by key (`choose`): the options are listed with single-token keys (short ordinal scales use 1..5)
  and the answer is read from the logits of the first token the assistant writes;
- by text (`choose_text`): the answer is the option's own words (a category's slug), scored token by
  token up to where the options differ (Generator.text_probabilities). A 1.5B model picks a category
  by its words far better than by a letter: on the tune parts of the default / four-type triage sets,
  letters after the thread were right for 0.24 / 0.35 of the tickets (0.53 / 0.58 after contextual
  calibration against an "N/A" input), names after the thread for 0.64 / 0.66, slugs answered as
  JSON with the categories in the system prompt for 0.61-0.65 / 0.85 (README, Category confidence).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llm import engine
from llm.services.common import LLMInputError

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DIGITS = "123456789"


@dataclass(frozen=True)
class Choice:
    label: str
    confidence: float  # probability of `label`
    probabilities: dict[str, float]  # over all labels


def option_lines(texts: list[str], keys: str = LETTERS) -> str:
    """'A) text' lines."""
    if not 2 <= len(texts) <= len(keys):
        raise LLMInputError(f"a choice needs 2 to {len(keys)} options (got {len(texts)}).")
    return "\n".join(f"{keys[i]}) {text}" for i, text in enumerate(texts))


def choose(*, system: str, user: str, labels: list[str], keys: str = LETTERS, model: str | None = None) -> Choice:
    """The label whose key the model is most likely to answer to system + user. The options are listed
    in the prompt by the caller."""
    shares = engine.generator(model).option_probabilities(_messages(system, user), options=list(keys[: len(labels)]))
    return _choice(labels, shares)


def choose_text(*, system: str, user: str, labels: list[str], texts: list[str], answer_prefix: str = "",
                model: str | None = None) -> Choice:
    """The label whose text (`texts[i]` for `labels[i]`) the model is most likely to answer with, after
    `answer_prefix`."""
    shares = engine.generator(model).text_probabilities(_messages(system, user), texts=texts, answer_prefix=answer_prefix)
    return _choice(labels, shares)


def agreed(choices: list[Choice], weights: list[float] | None = None) -> Choice:
    """One choice from the same question asked in several forms: the geometric mean of their
    distributions, weighted (`weights`, one per form, summing to 1; equal by default), renormalised (a label every
    form finds likely wins; one form's lean is damped)."""
    weights = weights or [1 / len(choices)] * len(choices)
    labels = list(choices[0].probabilities)
    means = [math.prod(c.probabilities[label] ** w for c, w in zip(choices, weights, strict=True)) for label in labels]
    return _choice(labels, [m / sum(means) for m in means])


def leaned(choice: Choice, lean: dict[str, float]) -> Choice:
    """The choice with some labels' probabilities multiplied by a fixed factor (`lean`: label -> factor), renormalised:
    a correction for a lean the model has on every set of tickets (it prefers a milder word to a stronger one)."""
    labels = list(choice.probabilities)
    weights = [choice.probabilities[label] * lean.get(label, 1.0) for label in labels]
    return _choice(labels, [w / sum(weights) for w in weights])


def _choice(labels: list[str], shares: list[float]) -> Choice:
    best = max(range(len(labels)), key=shares.__getitem__)
    return Choice(label=labels[best], confidence=round(shares[best], 4), probabilities=dict(zip(labels, shares, strict=True)))


def _messages(system: str, user: str) -> list[dict]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]
