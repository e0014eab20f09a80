"""The old triage path, one constrained SLM call that generates every field (JSON keys and punctuation
included) token by token. Kept so that `bench --part triage` can compare it with the new path
(llm/services/triage.py) in one run; the pipeline does not use it.
"""

from __future__ import annotations

import json
import time

from llm import engine
from llm.services.common import parse_json_output, words_at_most
from llm.services.heads import category_head_prediction, combine_category
from llm.labels import LANGUAGES, SENTIMENT_LEVELS, SENTIMENT_SCORES, URGENCY_LEVELS
from llm.services.triage import CategoryOption, TriageResult, check_categories
from llm.services.triage_prompt import RULES, category_block, clean_thread, customer_text, thread_block
from llm.services.triage_summary import TITLE_MAX_WORDS, summary_from_parts
from llm.services.urgency_rules import combine_urgency

SENTIMENT_GUIDE = (
    "very_negative (angry, insulting, threatening to leave or complain publicly), "
    "negative (annoyed, disappointed, frustrated, sarcastic), "
    "neutral (a plain question or request, including polite words such as please and thanks, or a problem "
    "described matter-of-factly: most order and product questions are neutral), "
    "positive (warm thanks or praise beyond politeness, happy with a solution), "
    "very_positive (delighted, enthusiastic praise, loves the product)"
)

# The summary is written as three short parts and joined, so it holds the need, the status and the
# next step and stays under SUMMARY_MAX_WORDS without cutting (one free-text field ran to 50+ words).
SUMMARY_PART_WORDS = 12
SUMMARY_PROPERTIES = {
    "need": {"type": "string", "minLength": 3, "maxLength": 90},
    "status": {"type": "string", "minLength": 3, "maxLength": 90},
    "next_step": {"type": "string", "minLength": 3, "maxLength": 90},
}
SUMMARY_FIELDS_GUIDE = (
    f"- need, status, next_step: each one full sentence of 6 to {SUMMARY_PART_WORDS} words, in English, in your own "
    "words (never copy the dialogue), naming the product or order: need = what the customer wants and why; "
    "status = what has happened so far (who did what); next_step = who does what next.\n"
)

# Not drawn from the evaluation threads (a model copies an example that matches its input).
SUMMARY_EXAMPLE = {
    "title": "Stove igniter stopped sparking",
    "need": "Stove igniter stopped sparking after a month; wants it fixed",
    "status": "Agent asked for a photo; the customer sent it",
    "next_step": "Agent approves a warranty repair and sends a return label",
}


_RULES = f"{RULES} Answer only with the JSON object requested."


def triage_schema(categories: list[CategoryOption]) -> dict:
    return {
        "type": "object",
        "properties": {
            "category": {"type": "string", "enum": [c.slug for c in categories]},
            "title": {"type": "string", "minLength": 3, "maxLength": 70},
            **SUMMARY_PROPERTIES,
            "sentiment": {"type": "string", "enum": SENTIMENT_LEVELS},
            "urgency": {"type": "string", "enum": URGENCY_LEVELS},
            "urgency_reason": {"type": "string", "minLength": 3, "maxLength": 120},
            "language": {"type": "string", "enum": LANGUAGES},
        },
        "required": ["category", "title", *SUMMARY_PROPERTIES, "sentiment", "urgency", "urgency_reason", "language"],
    }


def triage_messages(messages: list[dict], categories: list[CategoryOption]) -> list[dict]:
    instructions = (
        f"{_RULES}\n\n{category_block(categories)}\n\n"
        "Fields:\n"
        f"- title: at most {TITLE_MAX_WORDS} words naming the problem.\n"
        f"{SUMMARY_FIELDS_GUIDE}"
        f"- sentiment: the customer's own attitude only, not the agent's: {SENTIMENT_GUIDE}.\n"
        "- urgency: low (no time pressure), normal, high (blocked or a deadline within days, repeated contact), "
        "urgent (safety hazard, trip within a day, legal threat, large double charge); urgency_reason: a short reason.\n"
        "- language: ISO code of the customer's language (en, es, de, fr, it, nl, pt, other).\n\n"
        "Example: " + json.dumps({"category": "defect-warranty", **SUMMARY_EXAMPLE, "sentiment": "negative",
                                  "urgency": "normal", "urgency_reason": "Product unusable but no deadline",
                                  "language": "en"})
    )
    return [{"role": "system", "content": instructions}, {"role": "user", "content": thread_block(messages)}]


def triage_ticket_one_call(*, messages: list[dict], categories: list[CategoryOption], model: str | None = None,
                           use_head: bool = True) -> TriageResult:
    """All triage fields from one constrained SLM call; the category is combined with the newest
    trained head when one exists (see llm/services/heads.py for the rule).

    Raises LLMInputError for bad input, LLMOutputError when the output breaks the schema (a
    label outside the set included), engine.GenerationTimeout past the time limit.
    """
    thread = clean_thread(messages)
    check_categories(categories)
    schema = triage_schema(categories)
    generator = engine.generator(model)
    started = time.monotonic()
    # Room for every field at its maxLength (a small model can pad a field with repeated tokens).
    raw = generator.complete(triage_messages(thread, categories), max_tokens=360, json_schema=schema)
    data = parse_json_output(raw, schema)
    level = data["sentiment"]
    text = customer_text(thread)
    decision = combine_category(
        slm_label=data["category"],
        slm_confidence=category_similarity_confidence(thread, categories, data["category"]),
        head=category_head_prediction(text, {c.slug for c in categories}) if use_head else None,
    )
    urgency_level, urgency_reason = combine_urgency(data["urgency"], data["urgency_reason"], text)
    return TriageResult(
        category=decision.label,
        category_confidence=decision.confidence,
        category_method=decision.method,
        sentiment=level,
        sentiment_score=SENTIMENT_SCORES[level],
        urgency=urgency_level,
        urgency_reason=words_at_most(urgency_reason, 16),
        title=words_at_most(data["title"], TITLE_MAX_WORDS),
        summary=summary_from_parts(data),
        language=data["language"],
        seconds=time.monotonic() - started,
        generated_tokens=generator.last_usage.completion_tokens,
    )


def category_similarity_confidence(thread: list[dict], categories: list[CategoryOption], chosen: str) -> float:
    """Confidence of an SLM label: the softmax probability of `chosen` by embedding similarity
    between the customer's words and each category's name + description (temperature 0.05)."""
    import numpy as np

    from llm.services.embed import embed_texts

    text = customer_text(thread)[:2000]
    vectors = embed_texts(texts=[text] + [f"{c.name}: {c.description}" for c in categories])
    similarities = vectors[1:] @ vectors[0]
    weights = np.exp((similarities - similarities.max()) / 0.05)
    probabilities = weights / weights.sum()
    index = [c.slug for c in categories].index(chosen)
    return round(float(probabilities[index]), 3)
