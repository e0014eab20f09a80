"""A ticket's title and summary: values of JSON whose start is written into the prompt (prefilled), each
generated up to its closing quote (for a ticket no agent answered yet, side by side: Generator.continue_texts; its
status and next step are stated), then checked (no invented agent action, no copy of the instructions); the
summary is need, status and next step joined."""

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
NO_AGENT_NEXT_STEP = "An agent replies to the customer"
SUMMARY_QUESTION = "Write the ticket description as JSON."
ONE_SENTENCE = {"need", "status", "next_step"}
VALUE_ENDS, SENTENCE_ENDS = ['"', "\n"], ['"', "\n", ". "]
LIMITS = {"title": 24, "need": 32, "status": 32, "next_step": 32, "urgency_reason": 20}  # tokens per value
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
    has_agent = any(m["author"] == "agent" for m in thread)
    # Where no agent wrote, the status and next step say so (below), and the thread shows it: the sentence saying who
    # wrote is left out of the question.
    asked = f"{_who_wrote(thread)} {SUMMARY_QUESTION}" if has_agent else SUMMARY_QUESTION
    messages = [{"role": "system", "content": triage_system(categories)},
                {"role": "user", "content": f"{thread_block(thread)}\n\n{asked}"}]
    names = ["title", "need", "status", "next_step"]
    if not urgency_reason and urgency in EXPLAINED_URGENCY:
        names.append("urgency_reason")
    values, generated = {"urgency_reason": urgency_reason or URGENCY_MEANINGS[urgency].capitalize()}, 0
    if has_agent:
        # Each value after the ones before it, in one growing prompt. Written side by side (below), values cannot
        # see each other: on the 31 threads of `evaluate --task summaries` an agent answered, a status written
        # without the need said little ("agent answered"), and with title and need side by side, then status and
        # next step side by side, the time per summary did not fall (the title and need are evaluated again).
        for name in names:
            generated += _write_values(generator, messages, {name: _json_start(values, name, urgency)}, values)
    else:
        # No agent reply (a new ticket): the status and the next step are stated, never generated, and the title,
        # need (and an urgency reason) are written side by side (Generator.continue_texts), each after its key
        # alone. A generated next step for a new ticket mostly told the customer to do what they had just done
        # (7 of the 9 first tickets of `bench --part triage`: "The customer should contact Trailhead Outfitters
        # to cancel the order"), and it was the third sequence of every step (README, `bench --part triage`).
        values.update(status=NO_AGENT_STATUS, next_step=NO_AGENT_NEXT_STEP)
        fields = {name: _json_start({}, name, urgency) for name in names if name not in {"status", "next_step"}}
        generated += _write_values(generator, messages, fields, values)
    return _checked(values, thread, has_agent), generated


def _json_start(values: dict, name: str, urgency: str) -> str:
    """The answer's start written for the model before `name`'s value: the values known so far, as JSON."""
    known = {key: value for key, value in values.items() if key != "urgency_reason"}
    if name == "urgency_reason":
        known["urgency"] = urgency
    return "{" + "".join(f'"{key}": "{value}", ' for key, value in known.items()) + f'"{name}": "'


def _write_values(generator, messages: list[dict], fields: dict, values: dict) -> int:
    """Writes the value of each field after its answer start (`fields[name]`) into `values`, side by side when
    there are several (Generator.continue_texts); returns the tokens generated. Need, status and next step end at
    their first sentence (a second one would only be cut off at 40 words)."""
    written = generator.continue_texts(messages, answer_prefixes=list(fields.values()),
                                       max_tokens=[LIMITS[name] for name in fields],
                                       stops=[SENTENCE_ENDS if name in ONE_SENTENCE else VALUE_ENDS for name in fields])
    values.update({name: text.replace("\\", "").strip() or "-" for name, text in zip(fields, written, strict=True)})
    return generator.last_usage.completion_tokens


def _checked(values: dict, thread: list[dict], has_agent: bool) -> dict:
    """Plainer fallbacks for a field that claims an agent action no agent took, or repeats the instructions."""
    first_words = words_at_most(customer_text(thread).split("\n")[0], 12).rstrip("…")
    fallback = {"title": words_at_most(first_words, TITLE_MAX_WORDS).rstrip("…"), "need": first_words,
                "status": NO_AGENT_STATUS if not has_agent else "Agent and customer are in conversation",
                "next_step": NO_AGENT_NEXT_STEP, "urgency_reason": "-"}
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
