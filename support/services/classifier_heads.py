"""Retraining the classifier heads from the tickets (the labelled examples are the desk's; the
fitting is llm.services.heads', which takes plain (text, label) pairs)."""

from llm.models import ClassifierHead
from llm.services.common import LLMInputError
from llm.services.heads import classifier_head_train
from support.selectors import ticket_training_examples


def classifier_heads_retrain(*, tasks: list[str] | None = None) -> list[dict]:
    """Refit the heads of `tasks` (default: all) on the current labelled tickets, each as a new version.

    One result per task: the new head's figures, or {"task", "error"} when it could not be trained
    (too few examples or labels); one task's failure does not stop the others.
    """
    results = []
    for task in tasks or ClassifierHead.Task.values:
        try:
            head = classifier_head_train(task=task, examples=ticket_training_examples(task=task))
        except LLMInputError as exc:
            results.append({"task": task, "error": str(exc)})
            continue
        results.append({"task": task, "version": head.version, "holdout_accuracy": head.holdout_accuracy,
                        "holdout_macro_f1": head.holdout_macro_f1, "train_size": head.train_size,
                        "holdout_size": head.holdout_size, "labels": head.labels})
    return results
