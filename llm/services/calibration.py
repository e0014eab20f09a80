"""Label calibration: per-label offsets on the SLM's log-probabilities, fitted on the shop's labelled tickets.

A small model has a lean over labels that no prompt wording removes: Qwen 1.5B almost never says "neutral" and
files angry returns under `defect-warranty`. The lean is a constant per label, so it is measured where the true
labels are known (the demo tickets' labels, agents' corrections, labelled imports) and taken off every later
answer: p'(label) ∝ p(label) · exp(offset[label]). One number per label needs far fewer examples than a head on
embeddings (a head trained on the same tickets never reached p 0.8, README, Category confidence), and the
calibrated probability is still the model's own reading of the ticket.

An offset set is valid only for the prompt and model it was fitted against: `fingerprint` is a hash of the
prompt's constant part (the category list is in it), and a calibration is used only where the fingerprint, the
model and the label set all match, and where it was more accurate than the raw model on held-out folds of its
own tickets.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.db.models import Max

from llm.models import LabelCalibration
from llm.services.choices import Choice
from llm.services.common import LLMInputError

MIN_EXAMPLES = 30
FOLDS = 5
# Pulls offsets towards 0 (no change) where a label has few tickets. Set before measuring: 0.01 of the mean loss
# per unit of squared offset; an offset of 1 multiplies a label's odds by e.
L2_PENALTY = 0.01
_FLOOR = 1e-9


@dataclass(frozen=True)
class CalibrationFit:
    offsets: list[float]
    accuracy_before: float  # the raw model, on the held-out folds
    accuracy_after: float  # offsets fitted on the other folds


def prompt_fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()[:32]


def label_offsets(distributions: list[list[float]], gold: list[int], *, l2: float = L2_PENALTY) -> list[float]:
    """Offsets b minimising the mean negative log-likelihood of the gold labels under softmax(log p + b),
    plus l2 · |b|²."""
    from scipy.optimize import minimize

    logs = np.log(np.clip(np.asarray(distributions, dtype=float), _FLOOR, 1.0))
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


def _accuracy(distributions: np.ndarray, gold: np.ndarray, offsets) -> float:
    return float((np.argmax(np.log(np.clip(distributions, _FLOOR, 1.0)) + offsets, axis=1) == gold).mean())


def calibration_cross_validated(distributions: list[list[float]], gold: list[int], *, folds: int = FOLDS) -> CalibrationFit:
    """Offsets fitted on every ticket, and the raw and calibrated accuracy on held-out folds (each ticket predicted
    with offsets fitted on the others' folds)."""
    if len(gold) < MIN_EXAMPLES or len(set(gold)) < 2:
        raise LLMInputError(f"calibration needs at least {MIN_EXAMPLES} labelled tickets over 2+ labels (got {len(gold)}).")
    p, y = np.asarray(distributions, dtype=float), np.asarray(gold)
    fold = np.arange(len(y)) % folds
    hits_after = 0.0
    for k in range(folds):
        offsets = label_offsets(p[fold != k].tolist(), y[fold != k].tolist())
        hits_after += _accuracy(p[fold == k], y[fold == k], offsets) * int((fold == k).sum())
    return CalibrationFit(offsets=label_offsets(distributions, gold), accuracy_before=round(_accuracy(p, y, 0.0), 4),
                          accuracy_after=round(hits_after / len(y), 4))


def label_calibration_fit(*, task: str, model: str, fingerprint: str, labels: list[str],
                          distributions: list[dict[str, float]], gold: list[str]) -> LabelCalibration:
    """Fit and store a new version of `task`'s calibration from the raw distributions the model gave labelled
    tickets (each a {label: probability} over `labels`) and their true labels. Tickets labelled outside `labels`
    are left out. Raises LLMInputError with too few."""
    if task not in LabelCalibration.Task.values:
        raise LLMInputError(f"unknown calibration task {task!r}.")
    pairs = [(d, labels.index(g)) for d, g in zip(distributions, gold, strict=True) if g in labels]
    fit = calibration_cross_validated([[d.get(label, 0.0) for label in labels] for d, _ in pairs], [g for _, g in pairs])
    with transaction.atomic():
        latest = LabelCalibration.objects.select_for_update().filter(task=task).aggregate(v=Max("version"))["v"] or 0
        return LabelCalibration.objects.create(
            task=task, version=latest + 1, model=model, fingerprint=fingerprint, labels=labels, offsets=fit.offsets,
            train_size=len(pairs), accuracy_before=fit.accuracy_before, accuracy_after=fit.accuracy_after)


def label_calibration_for(*, task: str, model: str, fingerprint: str, labels: list[str]) -> LabelCalibration | None:
    """The newest calibration of `task` fitted against this prompt, model and label set, if it beat the raw model
    on its held-out folds; else None (the raw distribution is used)."""
    calibration = LabelCalibration.objects.filter(task=task, model=model, fingerprint=fingerprint).order_by("-version").first()
    if calibration is None or calibration.labels != list(labels) or calibration.accuracy_after <= calibration.accuracy_before:
        return None
    return calibration


def calibrated(choice: Choice, calibration: LabelCalibration | None) -> Choice:
    """`choice` with the calibration's offsets applied (unchanged without one)."""
    if calibration is None:
        return choice
    offsets = dict(zip(calibration.labels, calibration.offsets, strict=True))
    weights = {label: max(p, _FLOOR) * math.exp(offsets.get(label, 0.0)) for label, p in choice.probabilities.items()}
    total = sum(weights.values())
    best = max(weights, key=weights.get)
    return Choice(label=best, confidence=round(weights[best] / total, 4),
                  probabilities={label: w / total for label, w in weights.items()})
