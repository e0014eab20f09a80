"""Rules that set a floor under the SLM's urgency (the product card: "rules + SLM").

A 1.5B model rated a leaking gas stove "normal" in tests; safety, deadlines, legal threats and
repeat contact are too important to leave to it. The final urgency is the higher of the two.
"""

import re

from llm.labels import URGENCY_LEVELS

_RULES = [
    ("urgent", "Possible safety hazard", re.compile(
        r"\b(gas\s+(leak|smell)|smells?\s+(of\s+)?gas|leak(s|ing)?\s+gas|fire|smok(e|ing)|burn(ed|ing|t)?|overheat\w*|"
        r"explod\w*|swell\w*|swollen|spark\w*|carbon\s+monoxide|injur\w*|electric\s+shock)\b", re.I)),
    ("urgent", "Legal threat or chargeback", re.compile(r"\b(lawyer|attorney|sue|lawsuit|small\s+claims|chargeback)\b", re.I)),
    ("high", "Deadline within days", re.compile(
        r"\b(tomorrow|tonight|today|this\s+weekend|asap|leaving\s+on|trip\s+(starts|is)\s+(on|this|next))\b", re.I)),
    ("high", "Repeat contact", re.compile(r"\b(third|3rd|fourth|4th)\s+time\b|\bstill\s+(no|not|waiting)\b|\bagain\b.*\bno\s+(reply|answer)", re.I)),
]


def urgency_floor(text: str) -> tuple[str, str] | None:
    """The highest (level, reason) any rule gives for the customer's text, or None."""
    best = None
    for level, reason, pattern in _RULES:
        if pattern.search(text) and (best is None or URGENCY_LEVELS.index(level) > URGENCY_LEVELS.index(best[0])):
            best = (level, reason)
    return best


def combine_urgency(slm_level: str, slm_reason: str, customer_text: str) -> tuple[str, str]:
    floor = urgency_floor(customer_text)
    if floor and URGENCY_LEVELS.index(floor[0]) > URGENCY_LEVELS.index(slm_level):
        return floor
    return slm_level, slm_reason
