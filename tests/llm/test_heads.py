import json

import pytest
from django.core.management import call_command

from llm.models import ClassifierHead
from llm.services.common import LLMInputError
from llm.services.heads import HeadPrediction, category_head_prediction, classifier_head_train, combine_category
from llm.services.triage import triage_ticket
from support.selectors import ticket_training_examples

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_training_stores_a_new_version_with_its_holdout_scores():
    examples = ticket_training_examples(task="category")

    first = classifier_head_train(task="category", examples=examples)
    second = classifier_head_train(task="category", examples=examples)

    assert (first.version, second.version) == (1, 2)
    assert 0.0 <= first.holdout_accuracy <= 1.0 and first.holdout_size > 0
    assert len(first.weights) == len(first.labels) and len(first.weights[0]) == 384


def test_a_trained_head_recognizes_clear_cases():
    classifier_head_train(task="category", examples=ticket_training_examples(task="category"))
    active = {label for _, label in ticket_training_examples(task="category")}

    prediction = category_head_prediction("I forgot my password and cannot sign in to my account", active)

    assert prediction.label == "account"


def test_a_head_trained_on_labels_no_longer_active_is_ignored():
    classifier_head_train(task="category", examples=ticket_training_examples(task="category"))

    assert category_head_prediction("Where is my parcel?", {"order-status", "feedback"}) is None


def test_too_few_examples_is_refused():
    with pytest.raises(LLMInputError, match="at least 30 labelled examples"):
        classifier_head_train(task="category", examples=[("hello", "feedback")] * 5)
    assert ClassifierHead.objects.count() == 0


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (None, ("returns-refunds", 0.4, "slm")),
        (HeadPrediction("account", 0.9, 1), ("account", 0.9, "head")),
        (HeadPrediction("returns-refunds", 0.5, 1), ("returns-refunds", 0.5, "head+slm")),
        (HeadPrediction("account", 0.5, 1), ("returns-refunds", 0.4, "slm")),
    ],
)
def test_combination_rule(head, expected):
    decision = combine_category(slm_label="returns-refunds", slm_confidence=0.4, head=head)

    assert (decision.label, decision.confidence, decision.method) == expected


def test_triage_uses_a_confident_head_over_the_slm(fake_generator, categories, monkeypatch):
    monkeypatch.setattr("llm.services.heads.HEAD_TRUST", 0.0)  # every head guess counts as confident
    classifier_head_train(task="category", examples=ticket_training_examples(task="category"))
    fake_generator(json.dumps({"title": "Cannot sign in", "need": "Cannot sign in", "status": "New", "next_step": "Agent resets access",
                               "category": "feedback",
                               "sentiment": "neutral", "urgency": "normal", "urgency_reason": "Ordinary", "language": "en"}))

    result = triage_ticket(messages=[{"author": "customer", "body": "I forgot my password and cannot sign in to my account"}],
                           categories=categories)

    assert (result.category, result.category_method) == ("account", "head")


def test_train_classifiers_command_reports_accuracy(capsys):
    call_command("train_classifiers", "--task", "category", "--no-calibration")

    out = capsys.readouterr().out
    assert "category v1: holdout accuracy" in out
    assert ClassifierHead.objects.filter(task="category").count() == 1
