"""The fixed label sets of sentiment and urgency (ticket categories live in the database).

ONE sentiment vocabulary: the five levels, what each means (the model reads it), and the score of
each level on -1..1. A ticket's sentiment_score is the expected score under the model's
distribution over the levels (llm/services/triage.py), and an agent's correction scores its level.
"""

SENTIMENT_LEVELS = ["very_negative", "negative", "neutral", "positive", "very_positive"]
SENTIMENT_SCORES = {"very_negative": -1.0, "negative": -0.5, "neutral": 0.0, "positive": 0.5, "very_positive": 1.0}
SENTIMENT_MEANINGS = {
    "very_negative": "angry, insulting, shouting, threatening to leave, complain publicly or call the bank",
    "negative": "annoyed, disappointed, frustrated, impatient or sarcastic",
    "neutral": "a plain question or request, or a problem described matter-of-factly; polite words such as "
               "please and thanks are still neutral",
    "positive": "warm thanks or praise beyond politeness, happy with the product or the service",
    "very_positive": "delighted, enthusiastic praise, loves the product or the shop",
}
URGENCY_LEVELS = ["low", "normal", "high", "urgent"]
URGENCY_MEANINGS = {
    "low": "nothing to fix: praise, a suggestion, a question before buying",
    "normal": "an ordinary problem or request with no deadline",
    "high": "only with a deadline within days, a repeated unanswered contact, or money wrongly taken",
    "urgent": "only with a danger to someone's safety, a trip within a day or a legal threat",
}
# Said to the model after a level's meaning in the triage prompt, not to people (an urgency reason is the meaning).
URGENCY_HINTS = {"normal": "most tickets"}
LANGUAGES = ["en", "es", "de", "fr", "it", "nl", "pt", "other"]


def sentiment_level_score(level: str) -> float:
    return SENTIMENT_SCORES[level]


def sentiment_expected_score(probabilities: dict[str, float]) -> float:
    """The expected score (-1..1) under a distribution over the five levels."""
    return sum(p * SENTIMENT_SCORES[level] for level, p in probabilities.items())
