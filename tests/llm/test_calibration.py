"""Label calibration: offsets on the SLM's log-probabilities fitted on labelled tickets (llm/services/calibration.py),
and triage applying the newest matching one. Fitting is tested on made-up readings; triage with a fake SLM."""

import numpy as np
import pytest

from llm.labels import SENTIMENT_LEVELS, SENTIMENT_SCORES
from llm.models import LabelCalibration
from llm.services.calibration import (
    calibrated,
    calibration_cross_validated,
    label_calibration_fit,
    label_calibration_for,
    label_offsets,
    level_of,
)
from llm.services.choices import Choice
from llm.services.common import LLMInputError
from llm.services.triage import category_fingerprint, triage_ticket

LABELS = ["question", "complaint", "returns"]


def _leaning_readings(n: int, seed: int = 3) -> tuple[list[list[float]], list[int]]:
    """Readings of a model that sees the right label but leans towards "complaint": the gold label gets a
    clear share, and "complaint" a constant extra that often outweighs it."""
    rng = np.random.default_rng(seed)
    readings, gold = [], []
    for i in range(n):
        truth = i % 3
        logits = rng.normal(0, 0.3, 3)
        logits[truth] += 1.0
        logits[1] += 1.2  # the lean
        p = np.exp(logits) / np.exp(logits).sum()
        readings.append(p.tolist())
        gold.append(truth)
    return readings, gold


def test_offsets_take_a_constant_lean_off_the_readings():
    readings, gold = _leaning_readings(90)

    fit = calibration_cross_validated(readings, gold)

    assert fit.accuracy_before < 0.6  # the lean wins most "question" and "returns" tickets
    assert fit.accuracy_after > fit.accuracy_before + 0.25
    assert fit.offsets[1] < min(fit.offsets[0], fit.offsets[2])  # "complaint" is pushed down
    assert sum(fit.offsets) == pytest.approx(0.0, abs=1e-3)
    assert fit.head_weight is None  # no head readings: none weighed


def test_readings_without_a_lean_get_offsets_near_zero():
    rng = np.random.default_rng(5)
    gold = [i % 3 for i in range(60)]
    readings = []
    for truth in gold:
        logits = rng.normal(0, 0.3, 3)
        logits[truth] += 1.5
        readings.append((np.exp(logits) / np.exp(logits).sum()).tolist())

    assert max(abs(b) for b in label_offsets(readings, gold)) < 0.3


def test_too_few_labelled_tickets_are_refused():
    readings, gold = _leaning_readings(20)
    with pytest.raises(LLMInputError, match="at least 30"):
        calibration_cross_validated(readings, gold)
    with pytest.raises(LLMInputError, match="2\\+ labels"):
        calibration_cross_validated([[0.5, 0.5, 0.0]] * 40, [0] * 40)


def test_calibrated_moves_probability_by_the_offsets():
    calibration = LabelCalibration(labels=LABELS, offsets=[0.0, -2.0, 0.0])
    choice = Choice(label="complaint", confidence=0.6, probabilities={"question": 0.3, "complaint": 0.6, "returns": 0.1})

    moved = calibrated(choice, calibration)

    assert moved.label == "question"
    assert sum(moved.probabilities.values()) == pytest.approx(1.0)
    assert moved.confidence == pytest.approx(0.3 / (0.3 + 0.6 * np.exp(-2) + 0.1), abs=1e-3)
    assert calibrated(choice, None) is choice


def _stored(**overrides) -> LabelCalibration:
    readings, gold = _leaning_readings(60)
    fields = {"task": "category", "model": "m", "fingerprint": "f", "labels": LABELS,
              "distributions": [dict(zip(LABELS, r, strict=True)) for r in readings], "gold": [LABELS[g] for g in gold]}
    return label_calibration_fit(**{**fields, **overrides})


@pytest.mark.django_db
def test_a_calibration_is_used_only_for_its_prompt_model_and_labels():
    first = _stored()
    newest = _stored()

    assert (first.version, newest.version) == (1, 2)
    assert label_calibration_for(task="category", model="m", fingerprint="f", labels=LABELS) == newest
    assert label_calibration_for(task="category", model="other", fingerprint="f", labels=LABELS) is None
    assert label_calibration_for(task="category", model="m", fingerprint="another prompt", labels=LABELS) is None
    assert label_calibration_for(task="category", model="m", fingerprint="f", labels=[*LABELS, "idea"]) is None
    assert label_calibration_for(task="sentiment", model="m", fingerprint="f", labels=LABELS) is None


@pytest.mark.django_db
def test_a_calibration_that_did_not_beat_the_raw_model_is_not_used():
    calibration = _stored()
    LabelCalibration.objects.filter(pk=calibration.pk).update(accuracy_after=calibration.accuracy_before)

    assert label_calibration_for(task="category", model="m", fingerprint="f", labels=LABELS) is None


@pytest.mark.django_db
def test_tickets_labelled_outside_the_labels_are_left_out():
    readings, gold = _leaning_readings(45)
    gold_names = [LABELS[g] for g in gold]
    gold_names[:10] = ["retired-category"] * 10

    calibration = label_calibration_fit(task="category", model="m", fingerprint="f", labels=LABELS,
                                        distributions=[dict(zip(LABELS, r, strict=True)) for r in readings], gold=gold_names)

    assert calibration.train_size == 35


# --- triage applies it ----------------------------------------------------------------------------

def _lean_to_first_option(messages, options):
    return options[0]  # 0.9 for the first category or level, whatever the ticket says


@pytest.mark.django_db
def test_triage_applies_the_matching_category_calibration(fake_generator, categories, settings):
    fake_generator(choose=_lean_to_first_option)
    slugs = [c.slug for c in categories]
    ticket = [{"author": "customer", "body": "Where is my parcel?"}]
    assert triage_ticket(messages=ticket, categories=categories, use_head=False).category == slugs[0]

    offsets = [0.0] * len(slugs)
    offsets[0], offsets[slugs.index("order-status")] = -4.0, 1.0
    LabelCalibration.objects.create(task="category", version=1, model=settings.LLM_MODEL, labels=slugs, offsets=offsets,
                                    fingerprint=category_fingerprint(categories), train_size=60, accuracy_before=0.5,
                                    accuracy_after=0.7)

    result = triage_ticket(messages=ticket, categories=categories, use_head=False)
    assert result.category == "order-status"
    assert result.category_confidence == pytest.approx(result.category_probabilities["order-status"], abs=1e-3)
    assert triage_ticket(messages=ticket, categories=categories, use_head=False, use_calibration=False).category == slugs[0]
    # another category set is another prompt: the calibration does not apply to it
    assert triage_ticket(messages=ticket, categories=categories[:4], use_head=False).category == slugs[0]


@pytest.mark.django_db
def test_triage_applies_the_matching_sentiment_calibration(fake_generator, categories, settings):
    from llm.services.triage import sentiment_fingerprint

    fake_generator(choose=_lean_to_first_option)  # "very_negative" by number and by name
    ticket = [{"author": "customer", "body": "Can I change the delivery address?"}]
    assert triage_ticket(messages=ticket, categories=categories, use_head=False).sentiment == "very_negative"

    LabelCalibration.objects.create(task="sentiment", version=1, model=settings.LLM_MODEL, labels=SENTIMENT_LEVELS,
                                    offsets=[-6.0, 0.0, 2.0, 0.0, 0.0], fingerprint=sentiment_fingerprint(categories),
                                    train_size=60, accuracy_before=0.5, accuracy_after=0.6)

    result = triage_ticket(messages=ticket, categories=categories, use_head=False)
    assert result.sentiment == "neutral"
    assert -0.3 < result.sentiment_score < 0.3  # the score follows the calibrated distribution


# --- ordered labels: bands of the expected score ----------------------------------------------------

def _one_level_too_low(n: int) -> tuple[list[list[float]], list[int]]:
    """Attitude readings whose most likely level is one below the shop's label for "neutral" and "positive"
    tickets, while the expected score still rises with the label (the model ranks well, draws lines elsewhere)."""
    readings, gold = [], []
    for i in range(n):
        truth = (i // 5) % 5  # every fold (i % 5) holds every level
        centre = truth - 0.6 if truth in (2, 3) else truth
        weights = np.exp(-2.0 * (np.arange(5) - centre) ** 2)
        readings.append((weights / weights.sum()).tolist())
        gold.append(truth)
    return readings, gold


def test_ordered_labels_are_calibrated_by_bands_of_the_expected_score():
    readings, gold = _one_level_too_low(50)

    fit = calibration_cross_validated(readings, gold, scores=[SENTIMENT_SCORES[level] for level in SENTIMENT_LEVELS])

    assert fit.accuracy_before == pytest.approx(0.6)  # "neutral" and "positive" tickets are read one level low
    assert fit.accuracy_after == 1.0 and fit.within_one_after == 1.0
    assert len(fit.level_bounds) == 4 and fit.level_bounds == sorted(fit.level_bounds)
    assert fit.offsets == [0.0] * 5 and fit.head_weight is None
    assert [level_of(score, fit.level_bounds) for score in (-1.0, 1.0)] == [0, 4]


@pytest.mark.django_db
def test_an_ordered_calibration_is_used_when_as_exact_and_more_often_within_one():
    calibration = LabelCalibration.objects.create(
        task="sentiment", version=1, model="m", fingerprint="f", labels=SENTIMENT_LEVELS, offsets=[0.0] * 5,
        level_bounds=[-0.6, -0.2, 0.2, 0.6], train_size=60, accuracy_before=0.5, accuracy_after=0.5,
        within_one_before=0.8, within_one_after=0.9)
    assert label_calibration_for(task="sentiment", model="m", fingerprint="f", labels=SENTIMENT_LEVELS) == calibration

    LabelCalibration.objects.filter(pk=calibration.pk).update(within_one_after=0.8)
    assert label_calibration_for(task="sentiment", model="m", fingerprint="f", labels=SENTIMENT_LEVELS) is None


@pytest.mark.django_db
def test_the_attitude_is_the_band_its_expected_score_falls_in(fake_generator, categories, settings):
    from llm.services.triage import sentiment_fingerprint

    fake_generator(choose=_lean_to_first_option)  # "very_negative" by number and by name
    ticket = [{"author": "customer", "body": "Can I change the delivery address?"}]
    raw = triage_ticket(messages=ticket, categories=categories, use_head=False)
    assert raw.sentiment == "very_negative" and raw.sentiment_score < -0.5

    LabelCalibration.objects.create(task="sentiment", version=1, model=settings.LLM_MODEL, labels=SENTIMENT_LEVELS,
                                    offsets=[0.0] * 5, level_bounds=[raw.sentiment_score - 0.2, raw.sentiment_score - 0.1,
                                                                     raw.sentiment_score + 0.1, 0.5],
                                    fingerprint=sentiment_fingerprint(categories), train_size=60, accuracy_before=0.5,
                                    accuracy_after=0.6, within_one_before=0.8, within_one_after=0.9)

    result = triage_ticket(messages=ticket, categories=categories, use_head=False)
    assert result.sentiment == "neutral"  # above the second bound, below the third
    assert result.sentiment_score == raw.sentiment_score  # the ranking is the model's own


# --- the trained head, weighed in ------------------------------------------------------------------

def test_a_head_that_knows_what_the_model_misses_gets_a_weight():
    readings, gold = _leaning_readings(90)
    rng = np.random.default_rng(9)
    head = []
    for truth in gold:  # right on "question" vs "returns", where the model is least sure; no lean
        logits = rng.normal(0, 0.3, 3)
        logits[truth] += 1.2
        head.append((np.exp(logits) / np.exp(logits).sum()).tolist())

    alone = calibration_cross_validated(readings, gold)
    with_head = calibration_cross_validated(readings, gold, head_distributions=head)

    assert with_head.head_weight > 0
    assert with_head.accuracy_after > alone.accuracy_after
    assert with_head.accuracy_before == alone.accuracy_before  # the raw model's figure does not change


def test_a_head_that_knows_nothing_gets_no_weight():
    readings, gold = _leaning_readings(90)

    fit = calibration_cross_validated(readings, gold, head_distributions=[[1 / 3] * 3] * 90)

    assert fit.head_weight == 0.0


def test_calibrated_blends_the_head_with_the_calibrations_weight():
    calibration = LabelCalibration(labels=LABELS, offsets=[0.0, 0.0, 0.0], head_weight=1.0)
    choice = Choice(label="complaint", confidence=0.5, probabilities={"question": 0.3, "complaint": 0.5, "returns": 0.2})

    moved = calibrated(choice, calibration, head={"question": 0.8, "complaint": 0.1, "returns": 0.1})

    assert moved.label == "question"
    assert moved.confidence == pytest.approx(0.24 / (0.24 + 0.05 + 0.02), abs=1e-3)
    assert calibrated(choice, calibration).label == "complaint"  # no head reading: offsets only


@pytest.mark.django_db
def test_triage_decides_by_the_blend_when_the_calibration_weighs_the_head(fake_generator, categories, settings, monkeypatch):
    from llm.services.heads import HeadPrediction

    fake_generator(choose=_lean_to_first_option)
    slugs = [c.slug for c in categories]
    head = {slug: 0.02 for slug in slugs} | {"order-status": 1 - 0.02 * (len(slugs) - 1)}
    monkeypatch.setattr("llm.services.triage.category_head_prediction", lambda text, active: HeadPrediction(
        label="order-status", probability=head["order-status"], head_version=1, probabilities=head))
    LabelCalibration.objects.create(task="category", version=1, model=settings.LLM_MODEL, labels=slugs,
                                    offsets=[0.0] * len(slugs), head_weight=1.0, fingerprint=category_fingerprint(categories),
                                    train_size=60, accuracy_before=0.5, accuracy_after=0.7)

    result = triage_ticket(messages=[{"author": "customer", "body": "Where is my parcel?"}], categories=categories)

    assert (result.category, result.category_method) == ("order-status", "blend")
    no_head = triage_ticket(messages=[{"author": "customer", "body": "Where is my parcel?"}], categories=categories,
                            use_head=False)
    assert (no_head.category, no_head.category_method) == (slugs[0], "slm")


@pytest.mark.django_db
@pytest.mark.parametrize(("head_weight", "decided_by"), [(None, ("order-status", "head")), (0.0, (None, "slm"))])
def test_a_head_the_calibration_found_useless_is_ignored_and_one_it_never_saw_keeps_the_head_rule(
        fake_generator, categories, settings, monkeypatch, head_weight, decided_by):
    from llm.services.heads import HeadPrediction

    fake_generator(choose=_lean_to_first_option)
    slugs = [c.slug for c in categories]
    head = {slug: 0.01 for slug in slugs} | {"order-status": 1 - 0.01 * (len(slugs) - 1)}  # sure: over the 0.7 rule
    monkeypatch.setattr("llm.services.triage.category_head_prediction", lambda text, active: HeadPrediction(
        label="order-status", probability=head["order-status"], head_version=1, probabilities=head))
    LabelCalibration.objects.create(task="category", version=1, model=settings.LLM_MODEL, labels=slugs,
                                    offsets=[0.0] * len(slugs), head_weight=head_weight,
                                    fingerprint=category_fingerprint(categories), train_size=60, accuracy_before=0.5,
                                    accuracy_after=0.7)

    result = triage_ticket(messages=[{"author": "customer", "body": "Where is my parcel?"}], categories=categories)

    assert (result.category, result.category_method) == (decided_by[0] or slugs[0], decided_by[1])
