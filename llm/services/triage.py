"""Ticket triage: category, sentiment, urgency, title, summary and language.

How `triage_ticket` spends the model's time (the old one-call path, kept for the benchmark, is in
triage_one_call.py):
- category, urgency and sentiment are each read from the model's probabilities (llm/services/choices.py):
  of answering with each category's slug, each numbered attitude level (the attitude also by its name, the
  two readings agreed), each urgency level's name (as the attitude's JSON answer goes on); nothing is
  generated, and the probability of the chosen option is the confidence. Any admin-defined set of 2 to
  52 categories works; no prompt names a category that may not exist;
- title, need, status, next step and (for a high or urgent level no rule explained) the urgency reason
  are generated as values only (llm/services/triage_summary.py): the JSON before each value is written into
  the prompt (prefilled), each value ends at its closing quote (need, status and next step at their first
  sentence); for a ticket no agent has answered yet the status and next step are stated and llama.cpp writes
  the other values side by side as sequences of one batch;
- every call starts with the same system prompt and thread (llm/services/triage_prompt.py), so
  llama.cpp evaluates the thread once.

Messages are given as dicts {"author": "customer" | "agent", "body": str}. Customer and agent
text is wrapped as data: instructions inside it are not followed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from django.conf import settings

from llm.labels import SENTIMENT_LEVELS, URGENCY_LEVELS, sentiment_expected_score
from llm.models import LabelCalibration
from llm.services.calibration import calibrated, label_calibration_for, prompt_fingerprint
from llm.services.choices import DIGITS, Choice, agreed, choose, choose_text, leaned
from llm.services.common import LLMInputError, words_at_most
from llm.services.heads import CategoryDecision, HeadPrediction, category_head_prediction, combine_category, task_head_prediction
from llm.services.language import detect_language
from llm.services.triage_prompt import attitude_words, clean_thread, customer_text, thread_block, triage_system
from llm.services.triage_summary import TITLE_MAX_WORDS, summary_from_parts, write_summary
from llm.services.urgency_rules import combine_urgency


@dataclass(frozen=True)
class CategoryOption:
    slug: str
    name: str
    description: str


@dataclass(frozen=True)
class LabelledExample:
    """A ticket the shop labelled (an agent's correction, an import), shown to the model as an example."""

    text: str
    category: str  # slug


@dataclass
class TriageResult:
    category: str
    category_confidence: float
    category_method: str
    sentiment: str
    sentiment_score: float
    urgency: str
    urgency_reason: str
    title: str
    summary: str
    language: str
    seconds: float
    generated_tokens: int = 0
    category_probabilities: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


# The category and attitude-name questions do not describe the JSON answer: its start is written for the model
# (CATEGORY_ANSWER_PREFIX, SENTIMENT_ANSWER_PREFIX). Without 'Reply with JSON: {"category": "<one of the category
# slugs>"}' and its attitude twin, on the tune parts (default / four-type set): category 0.62 → 0.68 / 0.85 → 0.83,
# attitude exact 0.59 → 0.63 / 0.76 → 0.77 (holdout parts: category 0.75 → 0.75 / 0.98 → 0.96, attitude exact
# 0.54 → 0.57 / 0.70 → 0.70), about 30 prompt tokens fewer per ticket. (The urgency, when it had a question of its
# own, needed its list of levels in it: without it urgency exact fell 0.58 → 0.45; README, `bench --part triage`.)
CATEGORY_QUESTION = "Which category fits this ticket?"
CATEGORY_ANSWER_PREFIX = '{"category": "'
MAX_CATEGORIES = 52
SENTIMENT_QUESTION = ("Which attitude level fits the customer's own words (not the agent's)? "
                      "Answer with the level's number only.")
SENTIMENT_NAME_QUESTION = "Which attitude level fits the customer's own words (not the agent's)?"
SENTIMENT_ANSWER_PREFIX = '{"attitude": "'
# The two readings of the attitude are not equally good: the number's distribution is flat (its most likely level
# rarely above 0.35), the name's is decisive. The name weighs 0.7 in their geometric mean (SENTIMENT_READING_WEIGHTS:
# number, name). And the model leans away from two levels on every labelled set: it gives "positive" for delighted
# customers ("I'm SO excited!!", "best thing I've bought all winter": 13 of 18 very positive tickets of the default
# set's tune part), and it reads feelings into plain, firm requests (a formal data-deletion request as very negative).
# So "very positive" counts 3x and "neutral" 1.5x before the level is chosen (SENTIMENT_LEAN).
# Chosen 2026-12-03 from saved readings of the tune parts and the demo history (throwaway script: name weight 0.3-1,
# factors 0.5-3 on each level; the holdout parts were shown beside the top configurations, README, Sentiment).
# Exact / within one, the 2026-12-02 rule (equal weights, "very positive" 2x) → this one: default set holdout
# (first 67) 0.657 / 0.940 → 0.657 / 0.940, fresh 60 (m-301..) 0.667 / 0.900 → 0.733 / 0.917, 80 messages written
# for this check (m-401..) 0.775 / 0.988 → 0.850 / 0.988; four-type set holdout 0.698 / 1.000 → 0.774 / 1.000.
# Tune parts: default 0.664 / 0.933 → 0.701 / 0.940, four-type 0.810 / 0.975 → 0.848 / 0.975, demo history
# 0.673 / 0.955 → 0.700 / 0.955.
SENTIMENT_READING_WEIGHTS = [0.3, 0.7]
SENTIMENT_LEAN = {"neutral": 1.5, "very_positive": 3.0}
# Asked for the level's number against the old meanings in the system prompt ("high: the customer is blocked, ..."),
# the model answered "high" (3) for 66 of 67 holdout tickets of the default set (exact 0.10, within one 0.69, after
# the rule floor). Now the levels' names are scored and their meanings (llm/labels.py) state the rule ("only with
# a deadline within days, ..."). The urgency is not asked on its own: the attitude's JSON answer goes on with it,
# '{"attitude": "<the level the name reading found likeliest>", "urgency": "' after the attitude's name question
# (URGENCY_ANSWER_PREFIX), so about 10 tokens are evaluated for it instead of a question of 35. Read so, the model
# leans to "low" and away from "high" (normal tickets read low, high ones normal), so "high" and "urgent" count 4x
# and "low" 0.75x (URGENCY_LEAN: of 48 pairs of factors, the most exact on the default set's tune part among those
# within 0.01 of the question's within one and 0.05 of its share of high or urgent tickets found). On the same readings
# (2026-12-04, 2 AVX2 cores), exact / within one / high-or-urgent tickets read high or urgent, after the rule floor:
# - its own question ('How urgent is this ticket? Reply with JSON: {"urgency": "<low, normal, high or urgent>"}'):
#   tune 134 0.575 / 0.970 / 0.833, holdout 207 0.473 / 0.971 / 0.913, 0.85 s and 0.79 s per ticket;
# - after the attitude, no lean: tune 0.567 / 0.963 / 0.583, holdout 0.469 / 0.966 / 0.761, 0.26 s and 0.24 s;
# - after the attitude, URGENCY_LEAN: tune 0.634 / 0.970 / 0.889, holdout 0.531 / 0.971 / 0.891;
# - after the category's answer instead: tune 0.642 / 0.948 / 0.750, holdout 0.541 / 0.957 / 0.826, 0.33 s.
URGENCY_ANSWER_PREFIX = '", "urgency": "'
URGENCY_LEAN = {"low": 0.75, "high": 4.0, "urgent": 4.0}


def check_categories(categories: list[CategoryOption]) -> None:
    if len(categories) < 2:
        raise LLMInputError("at least two active ticket categories are needed.")
    if len(categories) > MAX_CATEGORIES:
        raise LLMInputError(f"triage offers 2 to {MAX_CATEGORIES} options (got {len(categories)} active categories).")


# --- the three classification fields, from probabilities -----------------------------------------

def _user(thread: list[dict], question: str, *parts: str) -> str:
    return "\n\n".join([thread_block(thread), *(p for p in parts if p), question])


def category_choice(thread: list[dict], categories: list[CategoryOption], *, model: str | None = None,
                    examples: list[LabelledExample] = ()) -> Choice:
    """The category from the model's probabilities of answering with each active category's slug: the shared
    system prompt lists the categories, the user turn is the thread, the shop's most similar labelled tickets
    (`examples`) with their slug, and the question; the answer is JSON whose first value is the slug
    (CATEGORY_ANSWER_PREFIX is written for the model)."""
    check_categories(categories)
    slugs = [c.slug for c in categories]
    shown = [e for e in examples if e.category in slugs]
    lines = ""
    if shown:
        lines = "Similar earlier tickets and the category this shop's agents gave them:\n" + "\n".join(
            f"- {' '.join(e.text.split())[:300]!r}: {e.category}" for e in shown)
    return choose_text(system=triage_system(categories), user=_user(thread, CATEGORY_QUESTION, lines), labels=slugs,
                       texts=slugs, answer_prefix=CATEGORY_ANSWER_PREFIX, model=model)


def sentiment_readings(thread: list[dict], categories: list[CategoryOption] = (), *,
                       model: str | None = None) -> tuple[Choice, Choice]:
    """The attitude asked two ways, (by its number, by its name as JSON); the name is read last, so the urgency's
    continuation of its answer (urgency_choice) finds that prompt evaluated."""
    by_number = choose(system=triage_system(categories), user=_user(thread, SENTIMENT_QUESTION), labels=SENTIMENT_LEVELS,
                       keys=DIGITS, model=model)
    return by_number, _attitude_by_name(thread, categories, model=model)


def _attitude_by_name(thread: list[dict], categories: list[CategoryOption], *, model: str | None) -> Choice:
    return choose_text(system=triage_system(categories), user=_user(thread, SENTIMENT_NAME_QUESTION), labels=SENTIMENT_LEVELS,
                       texts=[attitude_words(level) for level in SENTIMENT_LEVELS], answer_prefix=SENTIMENT_ANSWER_PREFIX,
                       model=model)


def sentiment_from_readings(by_number: Choice, by_name: Choice) -> Choice:
    """The attitude level from its two readings: the distributions agreed (choices.agreed); the distribution gives
    the score (sentiment_score). On the tune parts of both labelled sets, exact / within-one: by number 0.49 / 0.85
    and 0.55 / 1.00, by name 0.49 / 0.87 and 0.73 / 0.95, agreed 0.55 / 0.91 and 0.70 / 0.98. The name weighs more
    (SENTIMENT_READING_WEIGHTS), and the model's lean away from "very positive" and "neutral" is corrected
    (SENTIMENT_LEAN)."""
    return leaned(agreed([by_number, by_name], SENTIMENT_READING_WEIGHTS), SENTIMENT_LEAN)


def sentiment_choice(thread: list[dict], categories: list[CategoryOption] = (), *, model: str | None = None) -> Choice:
    return sentiment_from_readings(*sentiment_readings(thread, categories, model=model))


def urgency_choice(thread: list[dict], categories: list[CategoryOption] = (), *, attitude: Choice | None = None,
                   model: str | None = None) -> Choice:
    """The urgency level as the attitude's JSON answer goes on: after the attitude's name question and
    '{"attitude": "<level>"' (`attitude`: the name reading of sentiment_readings, read here when not given), with the
    model's lean away from "high" corrected (URGENCY_LEAN)."""
    if attitude is None:
        attitude = _attitude_by_name(thread, categories, model=model)
    answered = SENTIMENT_ANSWER_PREFIX + attitude_words(attitude.label) + URGENCY_ANSWER_PREFIX
    read = choose_text(system=triage_system(categories), user=_user(thread, SENTIMENT_NAME_QUESTION), labels=URGENCY_LEVELS,
                       texts=URGENCY_LEVELS, answer_prefix=answered, model=model)
    return leaned(read, URGENCY_LEAN)


def category_fingerprint(categories: list[CategoryOption]) -> str:
    """What a category calibration is valid for: the prompt the slugs' probabilities are read under."""
    return prompt_fingerprint(triage_system(categories), CATEGORY_QUESTION, CATEGORY_ANSWER_PREFIX)


def sentiment_fingerprint(categories: list[CategoryOption]) -> str:
    return prompt_fingerprint(triage_system(categories), SENTIMENT_QUESTION, SENTIMENT_NAME_QUESTION, SENTIMENT_ANSWER_PREFIX,
                              repr(SENTIMENT_READING_WEIGHTS), repr(sorted(SENTIMENT_LEAN.items())))


def calibration_targets(categories: list[CategoryOption]) -> dict[str, tuple[str, list[str]]]:
    """What each task's calibration is fitted and looked up against: {task: (prompt fingerprint, labels)}."""
    return {LabelCalibration.Task.CATEGORY: (category_fingerprint(categories), [c.slug for c in categories]),
            LabelCalibration.Task.SENTIMENT: (sentiment_fingerprint(categories), SENTIMENT_LEVELS)}


def calibrated_choices(category: Choice, feeling: Choice, categories: list[CategoryOption], *, text: str,
                       category_head: HeadPrediction | None, use_head: bool = True,
                       model: str | None = None) -> tuple[Choice, Choice, float | None]:
    """Category and attitude with the shop's newest matching calibrations applied (llm/services/calibration.py),
    each blended with its trained head by the weight the calibration found for it (the category's head reading
    `category_head` is passed in; the attitude's is read here, from `text`, only when it has a weight). Unchanged
    where no calibration was fitted against this prompt, model and label set, or none beat the raw model.
    Returns (category, attitude, the head's weight in the category calibration applied: None where none applied or
    it was fitted without a head, else the calibrated distribution decides and the head rule of
    heads.combine_category does not apply; 0 means the head did not help and is ignored)."""
    model = model or settings.LLM_MODEL
    found = {task: label_calibration_for(task=task, model=model, fingerprint=fingerprint, labels=labels)
             for task, (fingerprint, labels) in calibration_targets(categories).items()}
    for_category, for_feeling = found[LabelCalibration.Task.CATEGORY], found[LabelCalibration.Task.SENTIMENT]
    category = calibrated(category, for_category, _head_reading(category_head, [c.slug for c in categories]))
    feeling_head = (task_head_prediction(LabelCalibration.Task.SENTIMENT, text, set(SENTIMENT_LEVELS))
                    if use_head and for_feeling and for_feeling.head_weight else None)
    feeling = calibrated(feeling, for_feeling, _head_reading(feeling_head, SENTIMENT_LEVELS))
    return category, feeling, for_category.head_weight if for_category else None


def _head_reading(head: HeadPrediction | None, labels: list[str]) -> dict | None:
    """The head's distribution, if it covers exactly these labels."""
    return head.probabilities if head and head.probabilities and set(head.probabilities) == set(labels) else None


def sentiment_score(choice: Choice) -> float:
    """The expected score (-1..1) under the distribution over the five levels: tickets of one level rank."""
    return round(sentiment_expected_score(choice.probabilities), 3)


# --- title and summary, values generated into a prefilled skeleton ------------------------------

# --- the whole triage ----------------------------------------------------------------------------

@dataclass
class Classification:
    category: str
    category_confidence: float
    category_method: str
    category_probabilities: dict
    sentiment: str
    sentiment_score: float
    urgency: str
    urgency_reason: str  # empty unless a rule raised the level
    uncalibrated: dict = field(default_factory=dict)  # {"category": label, "sentiment": label} before calibration


def classify_ticket(thread: list[dict], categories: list[CategoryOption], *, model: str | None = None,
                    use_head: bool = True, use_calibration: bool = True, examples: list[LabelledExample] = ()) -> Classification:
    """Category, urgency and sentiment of a cleaned thread, all from probabilities (no generation).
    Category and attitude are calibrated where the shop's labelled tickets allowed it (calibrated_choices). The
    category is then decided by the calibrated blend with the newest trained head where the calibration weighed
    that head, else by the head rule (llm/services/heads.py) when a head exists."""
    check_categories(categories)
    text = customer_text(thread)
    category = category_choice(thread, categories, model=model, examples=examples)
    by_number, by_name = sentiment_readings(thread, categories, model=model)
    feeling = sentiment_from_readings(by_number, by_name)
    level, reason = combine_urgency(urgency_choice(thread, categories, attitude=by_name, model=model).label, "", text)
    uncalibrated = {"category": category.label, "sentiment": feeling.label}
    head = category_head_prediction(text, {c.slug for c in categories}) if use_head else None
    head_weight = None
    if use_calibration:
        category, feeling, head_weight = calibrated_choices(category, feeling, categories, text=text,
                                                            category_head=head, use_head=use_head, model=model)
    if head_weight is not None:  # the calibration weighed the head (0: it did not help): its distribution decides
        blended = head_weight > 0 and _head_reading(head, [c.slug for c in categories]) is not None
        decision = CategoryDecision(label=category.label, confidence=category.confidence,
                                    method="blend" if blended else "slm", head_label=head.label if head else None)
    else:
        decision = combine_category(slm_label=category.label, slm_confidence=category.confidence, head=head)
    method = decision.method + ("+examples" if examples and decision.method != "head" else "")
    return Classification(category=decision.label, category_confidence=decision.confidence, category_method=method,
                          category_probabilities=category.probabilities, sentiment=feeling.label,
                          sentiment_score=sentiment_score(feeling), urgency=level, urgency_reason=reason,
                          uncalibrated=uncalibrated)


def triage_ticket(*, messages: list[dict], categories: list[CategoryOption], model: str | None = None,
                  use_head: bool = True, use_calibration: bool = True, examples: list[LabelledExample] = ()) -> TriageResult:
    """Every triage field of one ticket: the classification (classify_ticket), then title and summary.
    `examples` are the shop's labelled tickets most similar to this one.

    Raises LLMInputError for bad input, engine.GenerationTimeout past the time limit.
    """
    thread = clean_thread(messages)
    started = time.monotonic()
    fields = classify_ticket(thread, categories, model=model, use_head=use_head, use_calibration=use_calibration,
                             examples=examples)
    parts, generated = write_summary(thread, categories, urgency=fields.urgency, urgency_reason=fields.urgency_reason,
                                     model=model)
    return TriageResult(
        category=fields.category, category_confidence=fields.category_confidence, category_method=fields.category_method,
        sentiment=fields.sentiment, sentiment_score=fields.sentiment_score, urgency=fields.urgency,
        urgency_reason=words_at_most(parts["urgency_reason"], 16),
        title=words_at_most(parts["title"], TITLE_MAX_WORDS), summary=summary_from_parts(parts),
        language=detect_language(text=customer_text(thread))[0], seconds=time.monotonic() - started,
        generated_tokens=generated, category_probabilities=fields.category_probabilities,
    )


# --- one field at a time (re-running a field; the evaluation of summaries) ------------------------

def classify(*, messages: list[dict], categories: list[CategoryOption], model: str | None = None) -> tuple[str, float]:
    choice = category_choice(clean_thread(messages), categories, model=model)
    return choice.label, choice.confidence


def sentiment(*, messages: list[dict], model: str | None = None) -> tuple[str, float]:
    """Five-level sentiment of the customer's own messages and its expected score."""
    choice = sentiment_choice(clean_thread(messages), model=model)
    return choice.label, sentiment_score(choice)


def urgency(*, messages: list[dict], model: str | None = None) -> tuple[str, str]:
    thread = clean_thread(messages)
    level, reason = combine_urgency(urgency_choice(thread, model=model).label, "", customer_text(thread))
    return level, words_at_most(reason or f"Rated {level} from the thread", 16)
