"""A ticket's title and summary: the values of a JSON skeleton written into the prompt (prefilled),
each generated up to its closing quote, then checked (no invented agent action, no copy of the
instructions); the summary is need, status and next step joined."""

from __future__ import annotations

from collections.abc import Sequence

from llm import engine
from llm.labels import URGENCY_MEANINGS
from llm.services.common import words_at_most
from llm.services.summary_checks import invented_agent_action, shares_phrase
from llm.services.triage_prompt import SUMMARY_TASK, clean_thread, customer_text, thread_block, triage_system

TITLE_MAX_WORDS = 8
SUMMARY_MAX_WORDS = 40
NO_AGENT_STATUS = "No agent has replied yet"
SUMMARY_QUESTION = "Write the ticket description as JSON."
ONE_SENTENCE = {"need", "status", "next_step"}
EXPLAINED_URGENCY = {"high", "urgent"}  # levels whose reason is worth generating: the others say it by their meaning


def _who_wrote(thread: list[dict]) -> str:
    agents = sum(m["author"] == "agent" for m in thread)
    customers = len(thread) - agents
    if not agents:
        return f"The thread has {customers} customer message(s) and no agent reply yet."
    return (f"The thread has {customers} customer and {agents} agent message(s); the newest is from the "
            f"{thread[-1]['author']}.")


def write_summary(thread: list[dict], categories: Sequence = (), *, urgency: str, urgency_reason: str = "",
                  model: str | None = None) -> tuple[dict, int]:
    """({title, need, status, next_step, urgency_reason}, tokens generated). `categories` (CategoryOption) only
    make the system prompt the one the ticket's classification used, so its evaluation is reused.

    The urgency reason is generated only for a high or urgent level that no rule explained (`urgency_reason`
    is a rule's reason): a low or normal level is explained by its meaning. It was the longest value (12-20
    tokens against a 20-token cap, profiled on 8 tickets) and most tickets are low or normal."""
    generator = engine.generator(model)
    messages = [{"role": "system", "content": triage_system(categories)},
                {"role": "user", "content": f"{thread_block(thread)}\n\n{_who_wrote(thread)} {SUMMARY_QUESTION}"}]
    has_agent = any(m["author"] == "agent" for m in thread)
    fields = [("title", 24), ("need", 32), ("status", 32), ("next_step", 32)]
    if not urgency_reason and urgency in EXPLAINED_URGENCY:
        fields.append(("urgency_reason", 20))
    values, prefix, generated = {"urgency_reason": urgency_reason or URGENCY_MEANINGS[urgency].capitalize()}, "{", 0
    for name, max_tokens in fields:
        if name == "urgency_reason":
            prefix += f'"urgency": "{urgency}", '
        prefix += f'"{name}": "'
        if name == "status" and not has_agent:
            value = NO_AGENT_STATUS  # nothing else can have happened: stated, not generated
        else:
            # need, status and next step are one sentence each: a second one would only be cut off at 40 words
            stop = ['"', "\n", ". "] if name in ONE_SENTENCE else ['"', "\n"]
            value = generator.continue_text(messages, answer_prefix=prefix, max_tokens=max_tokens, stop=stop)
            generated += generator.last_usage.completion_tokens
            value = value.replace("\\", "").strip() or "-"
        values[name] = value
        prefix += value + '", '
    return _checked(values, thread, has_agent), generated


def _checked(values: dict, thread: list[dict], has_agent: bool) -> dict:
    """Plainer fallbacks for a field that claims an agent action no agent took, or repeats the instructions."""
    first_words = words_at_most(customer_text(thread).split("\n")[0], 12).rstrip("…")
    fallback = {"title": words_at_most(first_words, TITLE_MAX_WORDS).rstrip("…"), "need": first_words,
                "status": NO_AGENT_STATUS if not has_agent else "Agent and customer are in conversation",
                "next_step": "An agent replies to the customer", "urgency_reason": "-"}
    for name, value in values.items():
        if (not has_agent and invented_agent_action(value)) or shares_phrase(value, SUMMARY_TASK):
            values[name] = fallback[name]
    return values


def summary_from_parts(data: dict) -> str:
    parts = [data["need"].strip().rstrip(".,;: "), data["status"].strip().rstrip(".,;: "),
             "Next: " + data["next_step"].strip().rstrip(".,;: ")]
    return words_at_most(". ".join(parts) + ".", SUMMARY_MAX_WORDS)


def summarize(*, messages: list[dict], model: str | None = None) -> tuple[str, str]:
    """(title ≤ 8 words, summary ≤ 40 words with the current status and the next step)."""
    thread = clean_thread(messages)
    parts, _ = write_summary(thread, urgency="normal", model=model)
    return words_at_most(parts["title"], TITLE_MAX_WORDS), summary_from_parts(parts)
