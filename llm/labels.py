"""The fixed label sets of sentiment and urgency (ticket categories live in the database)."""

SENTIMENT_LEVELS = ["very_negative", "negative", "neutral", "positive", "very_positive"]
SENTIMENT_SCORES = {"very_negative": -1.0, "negative": -0.5, "neutral": 0.0, "positive": 0.5, "very_positive": 1.0}
URGENCY_LEVELS = ["low", "normal", "high", "urgent"]
LANGUAGES = ["en", "es", "de", "fr", "it", "nl", "pt", "other"]
