"""Retraining what triage learns from the tickets: the classifier heads and the SLM's label calibrations (the
labelled examples are the desk's; the fitting is llm.services.heads' and llm.services.calibration's, which take
plain texts, labels and distributions)."""

import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from llm.models import ClassifierHead, LabelCalibration
from llm.services.calibration import FOLDS, MIN_EXAMPLES, is_ordered, label_calibration_fit
from llm.services.common import LLMInputError
from llm.services.heads import classifier_head_latest, classifier_head_train, head_cross_fitted
from support.selectors import ticket_category_options, ticket_training_examples

# The model reads every labelled ticket once per calibration (the category: one question; the attitude: two),
# about 1-4 s a ticket on 2 cores: the newest this many are read.
CALIBRATION_MAX_TICKETS = 200
# A step of a run on the llm worker reads this many (10-30 s): what a chat turn asked meanwhile may wait for.
CALIBRATION_STEP_TICKETS = 8
CALIBRATION_RUN_TTL = 24 * 3600
# Beat refits a calibration when none matches the current prompt and model (new categories, another model), or
# when tickets were labelled since the newest, at most this often.
CALIBRATION_REFRESH_HOURS = 24
CALIBRATION_RUN_LOCK = "llm:calibration-run:active"


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


def label_calibrations_refit(*, tasks: list[str] | None = None, progress: Callable[[str], None] = lambda _: None) -> list[dict]:
    """Fit the label calibrations of `tasks` (default: all) for the active categories and the current model, in
    this process: the model reads each labelled ticket's customer text as triage reads a ticket (nothing
    calibrated), and the offsets that best turn those readings into the agents' labels are stored as a new
    version (llm/services/calibration.py). Runs the SLM: call it from a command; the llm worker runs the same
    in steps (calibration_run_step).

    One result per task, as classifier_heads_retrain's; a task with too few labelled tickets is reported
    before the model reads any.
    """
    categories = ticket_category_options()
    plan, results = calibration_plan(tasks, categories)
    readings: dict[str, list] = {task: [] for task in plan}
    for task, examples in plan.items():
        for i, (text, label) in enumerate(examples, 1):
            readings[task].append(calibration_reading(task, text, label, categories))
            if i % 10 == 0 or i == len(examples):
                progress(f"  {task}: read {i} of {len(examples)} labelled tickets")
    return results + [calibration_store(task, rows, categories) for task, rows in readings.items()]


def calibration_plan(tasks: list[str] | None, categories: list) -> tuple[dict[str, list[tuple[str, str]]], list[dict]]:
    """The labelled tickets (text, label) each task's calibration reads, newest CALIBRATION_MAX_TICKETS, and an
    error result for each task that has too few."""
    plan, errors = {}, []
    for task in tasks or LabelCalibration.Task.values:
        labels = _calibration_target(task, categories)[1]
        examples = [(text, label) for text, label in ticket_training_examples(task=task) if label in labels]
        if len(examples) < MIN_EXAMPLES:
            errors.append({"task": task, "error": f"calibration needs at least {MIN_EXAMPLES} labelled tickets in the "
                                                  f"current labels (got {len(examples)})."})
        else:
            plan[task] = examples[-CALIBRATION_MAX_TICKETS:]
    return plan, errors


def calibration_reading(task: str, text: str, label: str, categories: list) -> tuple[dict | None, str, str]:
    """(the model's raw distribution over the task's labels for this customer text, the text, the label); None for a
    text triage would refuse (empty, oversized)."""
    from llm.services.triage import category_choice, sentiment_choice
    from llm.services.triage_prompt import clean_thread

    try:
        thread = clean_thread([{"author": "customer", "body": text}])
    except LLMInputError:
        return None, text, label
    if task == LabelCalibration.Task.CATEGORY:
        return category_choice(thread, categories).probabilities, text, label
    return sentiment_choice(thread, categories).probabilities, text, label


def calibration_store(task: str, readings: list, categories: list) -> dict:
    """Fit the task's offsets on the readings (and the head's weight, where the task has a trained head; the
    attitude's level bounds instead) and store them as a new version; the result as classifier_heads_retrain's (or
    {"task", "error"})."""
    fingerprint, labels = _calibration_target(task, categories)
    kept = [(d, text, label) for d, text, label in readings if d is not None]
    try:
        head = None
        if not is_ordered(task, labels) and classifier_head_latest(task=task) is not None and len(kept) >= MIN_EXAMPLES:
            head = head_cross_fitted(texts=[t for _, t, _ in kept], gold=[g for _, _, g in kept], labels=labels, folds=FOLDS)
        calibration = label_calibration_fit(task=task, model=settings.LLM_MODEL, fingerprint=fingerprint,
                                            labels=labels, distributions=[d for d, _, _ in kept],
                                            gold=[g for _, _, g in kept], head_distributions=head)
    except LLMInputError as exc:
        return {"task": task, "error": str(exc)}
    return {"task": task, "version": calibration.version, "train_size": calibration.train_size,
            "accuracy_before": calibration.accuracy_before, "accuracy_after": calibration.accuracy_after,
            "head_weight": calibration.head_weight, "labels": labels, "offsets": calibration.offsets,
            "level_bounds": calibration.level_bounds, "within_one_before": calibration.within_one_before,
            "within_one_after": calibration.within_one_after, "used": calibration.beats_raw_model}


def calibration_run_step(*, run_id: str | None = None, step_tickets: int = CALIBRATION_STEP_TICKETS) -> dict:
    """One step of a calibration run on the llm worker: the first step (no run_id) plans the run; each step reads
    up to `step_tickets` labelled tickets; the step that reads the last one fits and stores every task. The run's
    state is kept in the cache between steps, so each step is a short task and a chat turn queued meanwhile waits
    for one step, not the whole run.

    Returns {"run_id", "read", "total", "done", "results"}; the caller sends the next step while not done.
    """
    from llm.services.triage import category_fingerprint

    categories = ticket_category_options()
    prompt = category_fingerprint(categories)  # the list with names and descriptions: what the readings are under
    key = f"llm:calibration-run:{run_id}"
    state = cache.get(key) if run_id else None
    if run_id and (state is None or state["prompt"] != prompt):
        cache.delete(key)
        cache.delete(CALIBRATION_RUN_LOCK)
        why = ("the run's state expired; start it again." if state is None
               else "the categories changed during the run (readings under two prompts do not fit together); start it again.")
        return {"run_id": run_id, "read": 0, "total": 0, "done": True, "results": [{"task": "calibration", "error": why}]}
    if state is None:
        plan, errors = calibration_plan(None, categories)
        run_id = uuid.uuid4().hex
        key = f"llm:calibration-run:{run_id}"
        state = {"todo": [(task, text, label) for task, examples in plan.items() for text, label in examples],
                 "readings": {task: [] for task in plan}, "errors": errors, "total": sum(map(len, plan.values())),
                 "prompt": prompt}
    for task, text, label in state["todo"][:step_tickets]:
        state["readings"][task].append(calibration_reading(task, text, label, categories))
    state["todo"] = state["todo"][step_tickets:]
    read = state["total"] - len(state["todo"])
    if state["todo"]:
        cache.set(key, state, timeout=CALIBRATION_RUN_TTL)
        return {"run_id": run_id, "read": read, "total": state["total"], "done": False, "results": []}
    cache.delete(key)
    cache.delete(CALIBRATION_RUN_LOCK)
    results = state["errors"] + [calibration_store(task, rows, categories) for task, rows in state["readings"].items()]
    return {"run_id": run_id, "read": read, "total": state["total"], "done": True, "results": results}


def calibration_refresh_due() -> list[str]:
    """The tasks whose calibration should be fitted again: enough labelled tickets, and no calibration fitted against
    the current prompt and model, or tickets labelled since the newest one and that one older than
    CALIBRATION_REFRESH_HOURS. Reads no model."""
    from support.models import Ticket, TicketCorrection
    from support.models.tickets import TicketOrigin

    categories = ticket_category_options()
    plan, _ = calibration_plan(None, categories)
    due = []
    for task in plan:
        fingerprint, labels = _calibration_target(task, categories)
        newest = LabelCalibration.objects.filter(task=task, model=settings.LLM_MODEL, fingerprint=fingerprint,
                                                 labels=labels).order_by("-version").first()
        if newest is None:
            due.append(task)
        elif newest.created_at < timezone.now() - timedelta(hours=CALIBRATION_REFRESH_HOURS) and (
                TicketCorrection.objects.filter(field=task, created_at__gt=newest.created_at).exists()
                # imported since: by when it arrived, as history is dated when it happened (the demo's, months back)
                or Ticket.objects.filter(origin=TicketOrigin.IMPORT, updated_at__gt=newest.created_at).exists()):
            due.append(task)
    return due


def calibration_run_start(*, heads_first: list[str] = ()) -> bool:
    """Send the first step of a calibration run to the llm worker unless one is running (False then), after
    refitting the heads of `heads_first` on the same labelled tickets (seconds: embeddings only), so the run can
    weigh them. Raises what the broker raises when it is down (no run is then marked as running)."""
    from support.tasks import llm_label_calibrations_refit

    if not cache.add(CALIBRATION_RUN_LOCK, timezone.now().isoformat(), timeout=2 * 3600):
        return False
    try:
        if heads_first:
            classifier_heads_retrain(tasks=list(heads_first))
        llm_label_calibrations_refit.delay()
    except Exception:
        cache.delete(CALIBRATION_RUN_LOCK)
        raise
    return True


def calibration_refresh_start() -> bool:
    """Beat: start a calibration run, heads first, when one is due (calibration_refresh_due). True when one was sent."""
    due = calibration_refresh_due()
    return bool(due) and calibration_run_start(heads_first=due)


def _calibration_target(task: str, categories: list) -> tuple[str, list[str]]:
    """(prompt fingerprint, labels) of `task`'s calibration for these categories (triage.calibration_targets)."""
    from llm.services.triage import calibration_targets

    return calibration_targets(categories)[task]
