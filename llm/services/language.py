"""Language detection without a model: stop-word overlap, enough to route and label tickets."""

import re

from llm.services.common import clean_text

_STOPWORDS = {
    "en": "the and is are my you your it to of for with not have this that was order please thanks".split(),
    "es": "el la los las es mi y de que no por para con una pedido gracias hola pero está".split(),
    "de": "der die das und ist nicht ich mein meine mit für ein eine bestellung danke bitte aber".split(),
    "fr": "le la les et est mon ma mes pas je vous pour avec une commande merci bonjour mais".split(),
    "it": "il lo la gli e è mio mia non per con una ordine grazie ciao ma sono".split(),
    "nl": "de het een en is mijn niet ik voor met bestelling bedankt dank maar wel".split(),
    "pt": "o a os as e é meu minha não para com uma pedido obrigado olá mas está".split(),
}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def detect_language(*, text: str) -> tuple[str, float]:
    """(ISO 639-1 code or "other", confidence in [0, 1]) for a message."""
    words = [w.lower() for w in _WORD.findall(clean_text(text))]
    if not words:
        return "other", 0.0
    scores = {code: sum(word in vocab for word in words) for code, vocab in ((c, set(v)) for c, v in _STOPWORDS.items())}
    best = max(scores, key=scores.get)
    total = sum(scores.values())
    if scores[best] == 0:
        return "other", 0.0
    return best, round(scores[best] / total, 2)
