"""The checks that keep a summary to what happened (no model)."""

import pytest

from llm.services.summary_checks import invented_agent_action, shared_phrases, shares_phrase


@pytest.mark.parametrize(("text", "invented"), [
    ("Agent asked for a photo; the customer sent it", True),
    ("We sent a return label yesterday", True),
    ("Support refunded the duplicate charge", True),
    ("Customer wants the broken stove replaced", False),
    ("An agent checks the order and replies", False),  # a next step, not a past action
    ("No agent has replied yet", False),  # the stated status of a thread no agent answered
    ("Support has not answered. The agent sent a label.", True),  # a denial does not excuse the next sentence
    ("The team hasn't replied", False),
])
def test_invented_agent_action(text, invented):
    assert invented_agent_action(text) is invented


def test_shared_phrases_are_five_word_overlaps_ignoring_case_and_punctuation():
    example = "Agent approves a warranty repair and sends a return label"

    assert shares_phrase("The AGENT approves a warranty repair, fast.", example)
    assert not shares_phrase("Agent approves a repair under warranty", example)
    assert shared_phrases("sends a return label", example) == set()  # only four words
