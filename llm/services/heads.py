"""Trained heads on embeddings: training (versioned, with a holdout) and prediction.

How a head and the SLM are combined for the category (`combine_category`):
- no head, or the head was trained on labels that are no longer all active: the SLM decides;
- head confident (probability >= HEAD_TRUST): the head decides ("head");
- head and SLM agree: that label, confidence = the higher of the two ("head+slm");
- they disagree: the SLM's label with its own confidence ("slm"), and the head's guess is kept
  for the agent to see. Labelled examples beat prompting (models.md: 83% vs 75%), so the head
  wins whenever it is sure; the SLM covers what the head has not seen enough of.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.db.models import Max

from llm.models import ClassifierHead
from llm.services.common import LLMInputError
from llm.services.embed import embed_texts

HEAD_TRUST = 0.7
MIN_EXAMPLES = 30
MIN_PER_LABEL = 2


@dataclass(frozen=True)
class HeadPrediction:
    label: str
    probability: float
    head_version: int
    probabilities: dict[str, float] | None = None  # over the head's labels


@dataclass(frozen=True)
class CategoryDecision:
    label: str
    confidence: float
    method: str  # "head", "head+slm", "slm"
    head_label: str | None = None


def classifier_head_train(*, task: str, examples: list[tuple[str, str]], holdout_share: float = 0.2, seed: int = 7) -> ClassifierHead:
    """Fit a logistic-regression head on embeddings of labelled texts; store it as a new version.

    A stratified holdout (holdout_share) measures accuracy and macro-F1, then the head is refit
    on all examples. Raises LLMInputError with too few examples or labels.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import train_test_split

    if task not in ClassifierHead.Task.values:
        raise LLMInputError(f"unknown head task {task!r}.")
    texts = [t for t, _ in examples]
    labels = [label for _, label in examples]
    counts = {label: labels.count(label) for label in set(labels)}
    if len(examples) < MIN_EXAMPLES or len(counts) < 2:
        raise LLMInputError(f"training needs at least {MIN_EXAMPLES} labelled examples over 2+ labels (got {len(examples)}).")
    vectors = embed_texts(texts=texts)
    y = np.array(labels)
    stratify = y if min(counts.values()) >= MIN_PER_LABEL else None
    x_train, x_test, y_train, y_test = train_test_split(vectors, y, test_size=holdout_share, random_state=seed, stratify=stratify)
    probe = LogisticRegression(max_iter=2000, C=4.0, class_weight="balanced").fit(x_train, y_train)
    predicted = probe.predict(x_test)
    accuracy = float(accuracy_score(y_test, predicted))
    macro_f1 = float(f1_score(y_test, predicted, average="macro"))
    final = LogisticRegression(max_iter=2000, C=4.0, class_weight="balanced").fit(vectors, y)
    with transaction.atomic():
        latest = ClassifierHead.objects.select_for_update().filter(task=task).aggregate(v=Max("version"))["v"] or 0
        return ClassifierHead.objects.create(
            task=task, version=latest + 1, labels=[str(c) for c in final.classes_],
            weights=np.round(final.coef_, 6).tolist() if len(final.classes_) > 2 else np.round(np.vstack([-final.coef_[0], final.coef_[0]]), 6).tolist(),
            intercepts=np.round(final.intercept_, 6).tolist() if len(final.classes_) > 2 else [float(-final.intercept_[0]), float(final.intercept_[0])],
            train_size=len(x_train), holdout_size=len(x_test), holdout_accuracy=accuracy, holdout_macro_f1=macro_f1,
        )


def classifier_head_latest(*, task: str) -> ClassifierHead | None:
    return ClassifierHead.objects.filter(task=task).order_by("-version").first()


def head_predict(head: ClassifierHead, texts: list[str]) -> list[HeadPrediction]:
    vectors = embed_texts(texts=texts)
    logits = vectors @ np.array(head.weights, dtype=np.float32).T + np.array(head.intercepts, dtype=np.float32)
    logits -= logits.max(axis=1, keepdims=True)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    best = probabilities.argmax(axis=1)
    return [HeadPrediction(label=head.labels[i], probability=round(float(probabilities[row, i]), 3), head_version=head.version,
                           probabilities=dict(zip(head.labels, probabilities[row].round(4).tolist(), strict=True)))
            for row, i in enumerate(best)]


def head_cross_fitted(*, texts: list[str], gold: list[str], labels: list[str], folds: int) -> list[list[float]]:
    """Each text's distribution over `labels` from a head (as classifier_head_train fits one) trained on the other
    folds' texts (fold = position % folds): what a head says of tickets it has not seen, to weigh it against the
    SLM (llm/services/calibration.py). A label a fold's training part lacks gets 0."""
    from sklearn.linear_model import LogisticRegression

    vectors, y = embed_texts(texts=texts), np.array(gold)
    fold = np.arange(len(texts)) % folds
    rows = np.zeros((len(texts), len(labels)))
    for k in range(folds):
        train = fold != k
        if len(set(y[train])) < 2 or not (~train).any():
            rows[~train] = 1 / len(labels)
            continue
        fitted = LogisticRegression(max_iter=2000, C=4.0, class_weight="balanced").fit(vectors[train], y[train])
        columns = [labels.index(c) for c in fitted.classes_]
        rows[np.ix_(~train, columns)] = fitted.predict_proba(vectors[~train])
    return rows.round(4).tolist()


def combine_category(*, slm_label: str, slm_confidence: float, head: HeadPrediction | None) -> CategoryDecision:
    if head is None:
        return CategoryDecision(label=slm_label, confidence=slm_confidence, method="slm")
    if head.probability >= HEAD_TRUST:
        return CategoryDecision(label=head.label, confidence=head.probability, method="head", head_label=head.label)
    if head.label == slm_label:
        return CategoryDecision(label=slm_label, confidence=max(head.probability, slm_confidence), method="head+slm", head_label=head.label)
    return CategoryDecision(label=slm_label, confidence=slm_confidence, method="slm", head_label=head.label)


def category_head_prediction(text: str, active_slugs: set[str]) -> HeadPrediction | None:
    """The newest category head's guess, if its labels are all still active categories."""
    return task_head_prediction(ClassifierHead.Task.CATEGORY, text, active_slugs)


def task_head_prediction(task: str, text: str, labels: set[str]) -> HeadPrediction | None:
    """The newest head of `task`'s guess, if its labels are all among `labels`."""
    head = classifier_head_latest(task=task)
    if head is None or not set(head.labels) <= labels:
        return None
    return head_predict(head, [text])[0]
