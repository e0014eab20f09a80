"""Label calibration: per-label offsets on the SLM's log-probabilities, fitted on the shop's labelled tickets.

A small model has a lean over labels that no prompt wording removes: Qwen 1.5B almost never says "neutral" and
files angry returns under `defect-warranty`. The lean is a constant per label, so it is measured where the true
labels are known (the demo tickets' labels, agents' corrections, labelled imports) and taken off every later
answer: p'(label) ∝ p(label) · exp(offset[label]). One number per label needs far fewer examples than a head on
embeddings (a head trained on the same tickets never reached p 0.8, README, Category confidence), and the
calibrated probability is still the model's own reading of the ticket.

Where the shop's trained head (llm/services/heads.py: MiniLM embeddings, the same labelled tickets) knows the task's
labels, its log-probabilities are added with a weight chosen the same way: p' ∝ p_slm · p_head^w · e^offset, w from
HEAD_WEIGHTS by accuracy on held-out folds (the head's readings there from heads trained on the other folds), 0
when the head does not help (triage then ignores the head). The two see different things (the model reads the
words; the head knows how this shop labels tickets like this one), and the blend replaces the all-or-nothing head
rule (heads.combine_category). The held-out accuracy reported is that of the best of the weights tried, so it is a
little optimistic.

Ordered labels (the attitude, very negative .. very positive) are calibrated differently: the model's distribution
over the five levels ranks tickets well (its expected score), but where a shop draws the line between "neutral"
and "positive" is the shop's, and the model's most likely level often misses it by one. So the level is the band
of the expected score that holds it, the bands' bounds fitted on the labelled tickets (LEVEL_BOUND_STEPS; the most
tickets at their exact level, then the most within one). It is used only where, on held-out folds, it is as exact
as the raw model and more often within one level (LabelCalibration.beats_raw_model). On the demo shop it is not
(README, "The attitude's calibration is level bounds", with the figures on the evaluation sets).

An offset set is valid only for the prompt and model it was fitted against: `fingerprint` is a hash of the
prompt's constant part (the category list is in it), and a calibration is used only where the fingerprint, the
model and the label set all match, and where it was more accurate than the raw model on held-out folds of its
own tickets.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.db.models import Max

from llm.labels import SENTIMENT_LEVELS, SENTIMENT_SCORES, sentiment_expected_score
from llm.models import LabelCalibration
from llm.services.choices import Choice
from llm.services.common import LLMInputError

MIN_EXAMPLES = 30
FOLDS = 5
# Pulls offsets towards 0 (no change) where a label has few tickets. Set before measuring: 0.01 of the mean loss
# per unit of squared offset; an offset of 1 multiplies a label's odds by e.
L2_PENALTY = 0.01
HEAD_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
# The bounds an ordered task's bands may have: -0.95, -0.90, ... 0.95 on the score scale (-1..1).
LEVEL_BOUND_STEPS = np.round(np.arange(-0.95, 0.951, 0.05), 2)
_FLOOR = 1e-9


@dataclass(frozen=True)
class CalibrationFit:
    offsets: list[float]
    accuracy_before: float  # the raw model, on the held-out folds
    accuracy_after: float  # offsets (and head weight) fitted on the other folds
    head_weight: float | None = None  # None: no head readings were given
    level_bounds: list[float] | None = None  # ordered labels: the bands of the expected score (level_bounds_fit)
    within_one_before: float | None = None  # ordered labels: the share within one level, raw and on held-out folds
    within_one_after: float | None = None


def prompt_fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()[:32]


def label_offsets(distributions: list[list[float]], gold: list[int], *, l2: float = L2_PENALTY) -> list[float]:
    """Offsets b minimising the mean negative log-likelihood of the gold labels under softmax(log p + b),
    plus l2 · |b|²."""
    from scipy.optimize import minimize

    logs = _logs(distributions)
    truth = np.zeros_like(logs)
    truth[np.arange(len(gold)), gold] = 1.0

    def loss(b):
        z = logs + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        value = -np.mean(np.log(np.clip((p * truth).sum(axis=1), _FLOOR, 1.0))) + l2 * float(b @ b)
        return value, (p - truth).mean(axis=0) + 2 * l2 * b

    result = minimize(loss, np.zeros(logs.shape[1]), jac=True, method="L-BFGS-B")
    offsets = result.x - result.x.mean()  # softmax ignores a shared shift: keep them centred
    return [round(float(b), 4) for b in offsets]


def _logs(distributions) -> np.ndarray:
    return np.log(np.clip(np.asarray(distributions, dtype=float), _FLOOR, 1.0))


def _blend(slm: np.ndarray, head: np.ndarray | None, weight: float) -> np.ndarray:
    """Normalised p_slm · p_head^weight, row by row."""
    z = _logs(slm) + (weight * _logs(head) if head is not None and weight else 0.0)
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def _accuracy(distributions: np.ndarray, gold: np.ndarray, offsets) -> float:
    return float((np.argmax(_logs(distributions) + offsets, axis=1) == gold).mean())


def level_bounds_fit(scores: np.ndarray, gold: np.ndarray, levels: int) -> list[float]:
    """The `levels` - 1 ascending bounds (from LEVEL_BOUND_STEPS) under which the most tickets' expected scores fall
    in their own level's band, then the most within one band of it (the first of equals)."""
    bounds = np.array(list(itertools.combinations(LEVEL_BOUND_STEPS, levels - 1)))
    exact, within = np.zeros(len(bounds)), np.zeros(len(bounds))
    for score, level in zip(scores, gold, strict=True):  # ticket by ticket: a few MB, not bounds x tickets
        band = (score > bounds).sum(axis=1)
        exact += band == level
        within += np.abs(band - level) <= 1
    best = int(np.lexsort((-within, -exact))[0])
    return [float(b) for b in bounds[best]]


def is_ordered(task: str, labels: list[str]) -> bool:
    """Whether the task's labels are levels on one scale (the attitude), calibrated by level bounds."""
    return task == LabelCalibration.Task.SENTIMENT and list(labels) == SENTIMENT_LEVELS


def level_of(score: float, bounds: list[float]) -> int:
    """The band of `score`: 0 below the first bound, len(bounds) above the last."""
    return sum(score > bound for bound in bounds)


def calibration_cross_validated(distributions: list[list[float]], gold: list[int], *,
                                head_distributions: list[list[float]] | None = None, folds: int = FOLDS,
                                scores: list[float] | None = None) -> CalibrationFit:
    """Offsets (and, given the head's cross-fitted readings, its weight) fitted on every ticket, and the raw and
    calibrated accuracy on held-out folds: each ticket predicted with offsets fitted on the other folds; the head's
    weight is the one of HEAD_WEIGHTS with the best held-out accuracy (the smallest of equals). With `scores` (the
    labels' values, in order: an ordered task), level bounds on the expected score instead (no offsets, no head)."""
    if len(gold) < MIN_EXAMPLES or len(set(gold)) < 2:
        raise LLMInputError(f"calibration needs at least {MIN_EXAMPLES} labelled tickets over 2+ labels (got {len(gold)}).")
    p, y = np.asarray(distributions, dtype=float), np.asarray(gold)
    head = np.asarray(head_distributions, dtype=float) if head_distributions is not None else None
    fold = np.arange(len(y)) % folds
    if scores is not None:
        expected, banded = p @ np.asarray(scores, dtype=float), np.zeros(len(y), dtype=int)
        for k in range(folds):
            bounds = level_bounds_fit(expected[fold != k], y[fold != k], len(scores))
            banded[fold == k] = [level_of(s, bounds) for s in expected[fold == k]]
        raw = np.argmax(p, axis=1)
        return CalibrationFit(offsets=[0.0] * len(scores), accuracy_before=round(_accuracy(p, y, 0.0), 4),
                              accuracy_after=round(float((banded == y).mean()), 4),
                              level_bounds=level_bounds_fit(expected, y, len(scores)),
                              within_one_before=round(float((np.abs(raw - y) <= 1).mean()), 4),
                              within_one_after=round(float((np.abs(banded - y) <= 1).mean()), 4))
    held_out = {}
    for weight in HEAD_WEIGHTS if head is not None else (0.0,):
        blended, hits = _blend(p, head, weight), 0.0
        for k in range(folds):
            offsets = label_offsets(blended[fold != k].tolist(), y[fold != k].tolist())
            hits += _accuracy(blended[fold == k], y[fold == k], offsets) * int((fold == k).sum())
        held_out[weight] = hits / len(y)
    weight = max(held_out, key=lambda w: (round(held_out[w], 6), -w))
    return CalibrationFit(offsets=label_offsets(_blend(p, head, weight).tolist(), gold),
                          accuracy_before=round(_accuracy(p, y, 0.0), 4), accuracy_after=round(held_out[weight], 4),
                          head_weight=weight if head is not None else None)


def label_calibration_fit(*, task: str, model: str, fingerprint: str, labels: list[str],
                          distributions: list[dict[str, float]], gold: list[str],
                          head_distributions: list[list[float]] | None = None) -> LabelCalibration:
    """Fit and store a new version of `task`'s calibration from the raw distributions the model gave labelled
    tickets (each a {label: probability} over `labels`) and their true labels; `head_distributions` are the
    head's cross-fitted readings of the same tickets, over `labels` in order (heads.head_cross_fitted). Tickets
    labelled outside `labels` are left out. Raises LLMInputError with too few."""
    if task not in LabelCalibration.Task.values:
        raise LLMInputError(f"unknown calibration task {task!r}.")
    kept = [i for i, g in enumerate(gold) if g in labels]
    fit = calibration_cross_validated(
        [[distributions[i].get(label, 0.0) for label in labels] for i in kept], [labels.index(gold[i]) for i in kept],
        head_distributions=[head_distributions[i] for i in kept] if head_distributions is not None else None,
        scores=[SENTIMENT_SCORES[label] for label in labels] if is_ordered(task, labels) else None)
    with transaction.atomic():
        latest = LabelCalibration.objects.select_for_update().filter(task=task).aggregate(v=Max("version"))["v"] or 0
        return LabelCalibration.objects.create(
            task=task, version=latest + 1, model=model, fingerprint=fingerprint, labels=labels, offsets=fit.offsets,
            head_weight=fit.head_weight, level_bounds=fit.level_bounds, train_size=len(kept),
            accuracy_before=fit.accuracy_before, accuracy_after=fit.accuracy_after,
            within_one_before=fit.within_one_before, within_one_after=fit.within_one_after)


def label_calibration_for(*, task: str, model: str, fingerprint: str, labels: list[str]) -> LabelCalibration | None:
    """The newest calibration of `task` fitted against this prompt, model and label set, if it beat the raw model
    on its held-out folds; else None (the raw distribution is used)."""
    calibration = LabelCalibration.objects.filter(task=task, model=model, fingerprint=fingerprint).order_by("-version").first()
    if calibration is None or calibration.labels != list(labels) or not calibration.beats_raw_model:
        return None
    return calibration


def calibrated(choice: Choice, calibration: LabelCalibration | None, head: dict[str, float] | None = None) -> Choice:
    """`choice` with the calibration's offsets applied, and the head's distribution (`head`, over the same labels)
    blended in with the calibration's weight (unchanged without a calibration)."""
    if calibration is None:
        return choice
    if calibration.level_bounds:  # an ordered task: the band of the expected score
        label = calibration.labels[level_of(sentiment_expected_score(choice.probabilities), calibration.level_bounds)]
        return Choice(label=label, confidence=round(choice.probabilities[label], 4), probabilities=choice.probabilities)
    offsets = dict(zip(calibration.labels, calibration.offsets, strict=True))
    head_weight = (calibration.head_weight or 0.0) if head is not None else 0.0
    weights = {label: max(p, _FLOOR) * math.exp(offsets.get(label, 0.0))
               * (max(head.get(label, 0.0), _FLOOR) ** head_weight if head_weight else 1.0)
               for label, p in choice.probabilities.items()}
    total = sum(weights.values())
    best = max(weights, key=weights.get)
    return Choice(label=best, confidence=round(weights[best] / total, 4),
                  probabilities={label: w / total for label, w in weights.items()})
