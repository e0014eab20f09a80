"""Checks a program can make exactly, so that a small model cannot put an unsupported claim in front
of a customer (llm.services.answer runs them on every sentence before it is shown).

A sentence is a claim {"cite": n, "quote": "...", "text": "..."}. It survives only if:
1. it cites a passage that was given;
2. its quote (at most QUOTE_MAX_WORDS words) occurs, normalised, in that passage;
3. every number, price, currency, measure, duration, date, e-mail, phone number, URL and part
   number in its text occurs, normalised ("6 months" = "six months", "1,500" = "1500"), in that
   passage (or in the passage's source label);
4. every brand it names occurs in that passage (a GloTech answer cannot come from an Ecovolt manual);
5. a shop policy is not cited for a question about a brand's product unless the question is about a
   shop matter (returns, shipping, warranty, ...): "Adventure Link's phone hours" are not ours;
6. it says something: not empty, not only a citation or punctuation;
7. for a compatibility question ("compatible with Petzl helmet clips?", "can it charge my MacBook?"), the
   passage names what it asks about (counterpart_unmentioned);
8. it does not say the customer's own words back (question_echoed);
9. it shares at least one word with that passage, when it has two or more (shares_no_word).
And the answer as a whole must be about the question: at least one of its sentences (or quotes)
shares a key word with the question, not counting the product's name, or is close to it in meaning
(on_topic; a price question
is not answered by the lamp's weight), and gives what the question asks it in: a question that names
its unit ("in km/h", "how many BTU") needs a sentence in that unit, and a price question ("what does
it cost", "how much is the plan") a sentence with a currency, "free"/"included", or the word it
asked with (asked_in), or a time or the days for an hours question. The answer service holds back
a sentence that is not about the question until one that is arrives from the same passage, and shows
it only then.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

QUOTE_MAX_WORDS = 12
MIN_WORDS = 3  # a sentence with fewer words than this says nothing (e.g. "[2]" or "Yes.")

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "hundred": 100, "thousand": 1000, "twice": 2,
}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CITATION = re.compile(r"\s*\[\s*\d{1,3}(?:\s*,\s*\d{1,3})*\s*\]")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
# Part numbers and codes without digits: AQ-MX-C (digits are caught by the number check).
_CODE = re.compile(r"\b[A-Z]{2,}(?:-[A-Z0-9]+)+\b")
_CURRENCY = re.compile(r"[$€£¥]|\b(usd|eur|gbp|cad|aud|chf|dollars?|euros?|pounds?|cents?|bucks)\b", re.IGNORECASE)
_MONTH = re.compile(r"\b(january|february|march|april|may|june|july|august|september|october|november|december)\b",
                    re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# Questions about these are the shop's business even when they name a brand: its policies answer them.
_SHOP_MATTER = re.compile(
    r"\b(return|refund|exchange|ship|shipping|deliver|delivery|order|warrant|guarantee|price\s+adjust|price\s+match|"
    r"payment|pay|gift\s*card|discount|coupon|account|password|cancel+ing\s+(?:my\s+)?order|track(?:ing)?\s+(?:my\s+)?order)",
    re.IGNORECASE)


@dataclass(frozen=True)
class Claim:
    cite: int
    quote: str
    text: str


@dataclass(frozen=True)
class GroundingPassage:
    """What a claim is checked against: the passage text with its source label, its kind (manual,
    policy, order) and the brand of the product it belongs to ("" when none)."""

    text: str
    kind: str = "manual"
    brand: str = ""


def normalise(text: str) -> str:
    """Lower case, number words as digits, thousands separators out, one space between words;
    "Six months" -> "6 months", "1,500 liters" -> "1500 liters", "4K60" -> "4 k 60"."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'")
    text = _NUMBER_WORD.sub(lambda m: _format(_NUMBER_WORDS[m.group(1).lower()]), text)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", " ", text)
    return " ".join(re.findall(r"\d+(?:\.\d+)?|[^\W_]+|[%°$€£@]", text))


def _format(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def numbers_in(text: str) -> set[str]:
    """The numbers a text states, normalised: {"3", "1500", "2.5"}."""
    return {_format(float(n)) for n in _NUMBER.findall(normalise(text))}


def frequencies_in(text: str) -> set[str]:
    """How often a text says something happens without a digit: {"once an hour"}, {"every trip"}."""
    return {" ".join(m.group(0).lower().split()) for m in _FREQUENCY.finditer(text)}


def asks_how_often(question: str) -> bool:
    return bool(_HOW_OFTEN.search(question))


def strip_citations(text: str) -> str:
    return re.sub(r"\s+([.,;:!?])", r"\1", _CITATION.sub("", text)).strip()


def quote_found(quote: str, passage: str) -> bool:
    """The quote is short (at most QUOTE_MAX_WORDS words as written: normalising splits "1-2" and
    "4K" in two) and occurs, normalised, in the passage."""
    words = normalise(quote).split()
    return 0 < len(quote.split()) <= QUOTE_MAX_WORDS and bool(words) and f" {' '.join(words)} " in f" {normalise(passage)} "


def ungrounded_terms(text: str, passage: str) -> list[str]:
    """Numbers, currencies, months, e-mails, URLs and codes in `text` that `passage` does not hold."""
    missing = sorted(numbers_in(text) - numbers_in(passage))
    lowered = passage.lower()
    for pattern in (_EMAIL, _URL, _CODE):
        missing += [m for m in pattern.findall(text) if m.lower().rstrip(".,") not in lowered]
    passage_currencies = {_currency_kind(m) for m in _CURRENCY.findall(passage) or []} | _symbols(passage)
    for match in re.finditer(_CURRENCY, text):
        kind = _currency_kind(match.group(1) or match.group(0))
        if kind not in passage_currencies:
            missing.append(match.group(0))
    missing += [m for m in _MONTH.findall(text) if m.lower() not in lowered]
    return missing


def _symbols(text: str) -> set[str]:
    return {_currency_kind(s) for s in re.findall(r"[$€£¥]", text)}


def _currency_kind(token: str) -> str:
    token = token.lower().rstrip("s")
    return {"$": "dollar", "usd": "dollar", "buck": "dollar", "cad": "cad", "aud": "aud", "€": "euro", "eur": "euro",
            "£": "pound", "gbp": "pound", "pounds sterling": "pound", "pound sterling": "pound", "¥": "yen",
            "cent": "dollar"}.get(token, token)


def brands_named(text: str, brands: list[str]) -> list[str]:
    words = f" {' '.join(_WORD.findall(text.lower()))} "
    return [b for b in brands if b and f" {' '.join(_WORD.findall(b.lower()))} " in words]


def is_shop_matter(question: str) -> bool:
    return bool(_SHOP_MATTER.search(question))


# Words of a question that say how it asks, not what about.
_ASKING = set("long much many take get use work need want tell know please thanks hi hello ok okay also just really "
              "still any way there here it's its whats what's can't cant dont don't doesn't isnt will would could should "
              "buy bought new".split())


def key_terms(question: str, name_words: str = "") -> set[str]:
    """The question's content words (stemmed) that say what it asks about, less the product's name."""
    return content_words(question) - content_words(name_words) - {_stem(w) for w in _ASKING}


def on_topic(claim: Claim, question: str, name_words: str = "",
             close_in_meaning: Callable[[str], bool] | None = None, focus: str = "") -> bool:
    """The claim is about the question and its sentence gives the figure, unit or price the
    question asks for (asked_in). About the question: it shares a key word of the question or of
    its `focus` (the standalone question a follow-up was searched with; words compared by their
    first 5 letters, so "weight" meets "weighs"; a question with no key word left puts every claim
    on topic), or, when it shares none, `close_in_meaning` says its sentence is ("on a plane?" /
    "Air travel: ... carry-on luggage"; not its quote: the first words of a line say less than the
    sentence that uses them). What it must be given in comes from the question's own words: a
    follow-up "does it remove viruses?" after "how heavy is it?" asks for no figure."""
    terms = {t[:5] for t in key_terms(f"{question} {focus}", name_words)}
    if terms and not terms & {w[:5] for w in content_words(f"{claim.text} {claim.quote}")}:
        if close_in_meaning is None or not close_in_meaning(strip_citations(claim.text)):
            return False
    return all(_gives(claim.text, wanted, question) for wanted in asked_in(question))  # what the customer reads gives it


# Units a question can ask its answer in, each with the spellings that count as it.
_UNITS = {
    "km/h": ("km/h", "kmh", "kph", "kilometers per hour", "kilometres per hour"), "mph": ("mph", "miles per hour"),
    "m/s": ("m/s", "meters per second", "metres per second"), "btu": ("btu",), "lumen": ("lumen", "lm"),
    "mah": ("mah",), "wh": ("wh", "watt-hour", "watt hour"), "watt": ("watt", "w"), "volt": ("volt", "v"),
    "celsius": ("celsius", "°c"), "fahrenheit": ("fahrenheit", "°f"), "kg": ("kg", "kilogram", "kilo"),
    "gram": ("gram", "g"), "lb": ("lbs", "lb", "pound"), "oz": ("oz", "ounce"), "ml": ("ml", "milliliter", "millilitre"),
    "liter": ("liter", "litre", "l"), "cm": ("cm", "centimeter", "centimetre"), "mm": ("mm", "millimeter", "millimetre"),
    "inch": ("inch",), "foot": ("feet", "foot", "ft"), "meter": ("meter", "metre", "m"), "hour": ("hour", "hr", "h"),
    "minute": ("minute", "min"), "day": ("day",), "week": ("week",), "month": ("month",), "year": ("year",),
    "km": ("km", "kilometer", "kilometre"), "mile": ("mile",), "yard": ("yard", "yd"), "fps": ("fps", "frames per second"),
    "percent": ("%", "percent"),
}
# "how heavy is it and is it waterproof?", "what does it weigh? does it float?": more than one ask.
# A follow-up's leading "and" ("ok and how long does it take to charge?") joins it to the previous turn, not two asks.
_SEVERAL_ASKS = re.compile(r"\?.*\w.*\?|(?:\w+\W+){3,}(?:and|also|plus)\s+(?:how|what|when|where|which|who|why|is|are|does|do|"
                           r"did|can|will|would|should|could)\b", re.IGNORECASE | re.DOTALL)


def asks_several(question: str) -> bool:
    """Whether the customer's question asks more than one thing (then no single table row answers it)."""
    return bool(_SEVERAL_ASKS.search(question))


# "How far ...?" asks for a distance and "how heavy / what does it weigh?" for a weight: a figure in another unit
# ("400 lm after 3 minutes" for "how far does it throw on low?") does not answer, nor a sentence without one.
_KIND_ASKED = {
    "distance": (re.compile(r"\bhow far\b(?!\s+(?:in advance|ahead|back|before))", re.IGNORECASE),
                 ("meter", "km", "foot", "inch", "mile", "yard", "cm", "mm")),
    "weight": (re.compile(r"\bhow heavy\b|\bhow much\b[^?.!]{0,60}\bweigh\b|\bwhat\b[^?.!]{0,40}\bweigh\b"
                          r"|\bwhat(?:'s|s| is)? the weight\b", re.IGNORECASE), ("kg", "gram", "lb", "oz")),
}
# "How long / how many / how heavy ...": the answer states a number ("about 3 hours", "four times").
_FIGURE_ASKED = re.compile(r"\bhow (long|many|far|heavy|big|old|often|fast)\b|\bwhat (size|weight|capacity|voltage|"
                           r"temperature|length)\b", re.IGNORECASE)
# "How often does it check for messages?" is answered by a frequency, which may have no digit: "once an hour", "after
# every trip", "daily".
_HOW_OFTEN = re.compile(r"\bhow (?:often|frequently)\b", re.IGNORECASE)
_FREQUENCY = re.compile(r"\b(?:once|twice)\s+(?:a|an|per|every)\s+(?:second|minute|hour|day|night|week|month|year|season)\b"
                        r"|\bevery\s+(?:other\s+)?(?:second|minute|hour|day|night|week|month|year|season|use|trip|ride|wash)\b"
                        r"|\b(?:hourly|daily|nightly|weekly|monthly|yearly|annually)\b", re.IGNORECASE)
# "How much?" with nothing after it ("do you sell a spare strap? how much") or "how much for ..." asks a price too,
# but not "... by how much?" (a difference).
_PRICE_ASKED = re.compile(r"\b(cost|costs|price|prices|priced|fee|fees)\b|\bhow much (is|are|would|will)\b"
                          r"|(?<!by )\bhow much\s*(?:[?!.]|$|for\b)", re.IGNORECASE)
# "What are the phone support hours?", "when is the store open?", "what time do you close?": the answer states
# a time or the days (a number of its own, a weekday, "24/7"), not what to have ready when calling.
_TIME_ASKED = re.compile(r"\b(?:support|opening|business|office|phone|service|store|shop)\s+hours\b|\bwhat time\b"
                         r"|\bwhen\b[^?.!]{0,40}\b(?:open|close|closed|available|reachable)\b", re.IGNORECASE)
_TIME_GIVEN = re.compile(r"\b(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day)?s?\b|\bweekdays?\b|\bweekends?\b|24/7"
                         r"|\baround the clock\b|\bnoon\b|\bmidnight\b|\d", re.IGNORECASE)
# "What's the part number?", "the model no.?": the answer states the code itself, not what the part is for.
_CODE_ASKED = re.compile(r"\b(?:part|model|item|article|serial|replacement)\s*(?:number|no\b\.?|#)|\bsku\b", re.IGNORECASE)
_PRICE_GIVEN = re.compile(r"\b(free|included|includes|including|no extra|no charge|at no cost|costs? nothing|cost|costs|price|"
                          r"prices|fee|fees)\b", re.IGNORECASE)


def _unit_word(spelling: str) -> str:
    """A unit's spelling as a pattern, plural included ("hour" -> "hours", "inch" -> "inches")."""
    return re.escape(spelling) + ("(?:e?s)?" if spelling[-1].isalpha() else "")


def _spelled(spelling: str) -> str:
    """A unit's spelling as a pattern: a short one (km, W, h) only right after a number."""
    body = _unit_word(spelling)
    return rf"\d\s*{body}(?![a-z])" if len(spelling) <= 3 else rf"(?<![a-z]){body}(?![a-z])"


def asked_in(question: str) -> set[str]:
    """What the question asks its answer in: "figure" when it asks how long / many / far ..., the
    units it names ("in km/h", "how many BTU"), "price" when it asks what something costs, the
    currency it names ("in euros" -> "currency:euro"), "time" when it asks for hours or when
    something is open ("phone support hours": a time or the days, not what to have ready), and "code"
    when it asks for a part or model number (the number or code itself)."""
    lowered = question.lower()
    wanted = {"price"} if _PRICE_ASKED.search(question) or _CURRENCY.search(_asking_part(question)) else set()
    if _FIGURE_ASKED.search(question):
        wanted.add("figure")
    if _TIME_ASKED.search(question):
        wanted.add("time")
    if _CODE_ASKED.search(question):
        wanted.add("code")
    if not asks_several(question):  # "how long to charge and how heavy?": each sentence answers one of them
        wanted |= {kind for kind, (pattern, _) in _KIND_ASKED.items() if pattern.search(question)}
    wanted |= {f"currency:{_currency_kind(m.group(1))}" for m in re.finditer(
        r"\b(?:in|into)\s+(usd|eur|gbp|cad|aud|chf|dollars?|euros?|pounds? sterling|yen|bucks)\b", lowered)}
    for unit, spellings in _UNITS.items():
        for spelling in (s for s in spellings if len(s) > 1 and s not in ("in", "min", "hr", "lb", "ft", "wh")):
            if re.search(rf"\b(?:in|how many|into)\s+{_unit_word(spelling)}(?![a-z/])", lowered):  # km, not km/h
                wanted.add(unit)
    return wanted


def _asking_part(question: str) -> str:
    """The sentences of a message that ask (end with "?"; the last one when none does): a sum the customer states
    about their own case ("my cart is $80 before the code.", "she got a surprise bill of like 40 bucks") is no
    question about a price."""
    sentences = [s for s in re.split(r"(?<=[.?!])\s+", question.strip()) if s]  # "$14.95" is no sentence end
    asking = [s for s in sentences if s.endswith("?")]
    return " ".join(asking) if asking else (sentences[-1] if sentences else question)


def _gives(text: str, wanted: str, question: str = "") -> bool:
    text = strip_citations(text)
    lowered = text.lower()
    if wanted == "figure":  # a figure of its own: not a citation's number, nor the question's ("every 10 minutes")
        return bool(numbers_in(text) - numbers_in(question)
                    or asks_how_often(question) and frequencies_in(text) - frequencies_in(question))
    if wanted == "time":
        return bool(_TIME_GIVEN.search(text))
    if wanted == "code":  # a code of its own: not the question's, nor a measure ("replace it every 200 liters")
        measures = set().union(*_quantities(text).values())
        return bool(numbers_in(text) - numbers_in(question) - measures
                    or set(_CODE.findall(text)) - set(_CODE.findall(question)))
    if wanted == "price":
        return bool(_CURRENCY.search(text) or _PRICE_GIVEN.search(text))
    if wanted.startswith("currency:"):
        given = {_currency_kind(m.group(1) or m.group(0)) for m in _CURRENCY.finditer(text)}
        return wanted.removeprefix("currency:") in given
    units = _KIND_ASKED[wanted][1] if wanted in _KIND_ASKED else (wanted,)
    return any(re.search(_spelled(spelling), lowered) for unit in units for spelling in _UNITS[unit])


def _quantities(text: str) -> dict[str, set[str]]:
    """The figures a text states with a unit, by unit: "1080p 60fps, tracking every 10 min" -> {"fps": {"60"},
    "minute": {"10"}}."""
    lowered, found = normalise(text), {}
    for unit, spellings in _UNITS.items():
        for spelling in spellings:
            for match in re.finditer(rf"(\d+(?:\.\d+)?)\s*-?\s*{_unit_word(spelling)}(?![a-z])", lowered):
                found.setdefault(unit, set()).add(_format(float(match.group(1))))
    return found


def condition_differs(line: str, question: str) -> list[str]:
    """What a table row is given for that the question states otherwise: the row's first cell names a setting
    with a figure ("| 1080p 30 fps | 140 minutes |", "| Power-saving mode, 30-minute interval | up to 30 days |")
    and the question asks about the same unit at another figure ("at 60fps", "tracking every 10 minutes"): the
    row's value is for another setting, so it does not answer. Only the first cell: a value that differs from the
    customer's own figure ("I'm 193 cm" and "| Fits people up to | 188 cm |") is the answer they need."""
    if " | " not in line:
        return []
    asked, given = _quantities(question), _quantities(line.split(" | ", 1)[0])
    return [f"{' or '.join(sorted(given[unit]))} {unit} (asked: {' or '.join(sorted(numbers))})"
            for unit, numbers in asked.items() if unit in given and not numbers & given[unit]]


FIGURE_FOR_OTHER = "gives its figure for"


def figure_given_for_other(text: str, passage: str, question: str, name_words: str = "") -> list[str]:
    """The question's words that a sentence stating a figure pairs with it but the cited passage never uses:
    "The lowest simmer setting is 20,000 BTU/h" from a passage that gives 20,000 BTU/h as the burners' total
    and says nothing of simmering. The number is in the passage, so the number check passes; what it is
    a figure of is not. Only when such words are most of the question's words the sentence uses: a
    sentence that rewords one of them ("Phone support is open ..." from "Phone: ... Monday-Friday") holds.
    Words are compared by their first 5 letters (as on_topic does)."""
    if not numbers_in(text) - numbers_in(question):
        return []
    used = {w[:5] for w in content_words(passage)}
    echoed = content_words(text) & key_terms(question, name_words)
    unsaid = sorted(t for t in echoed if t[:5] not in used)
    return unsaid if 2 * len(unsaid) > len(echoed) else []


def shares_no_word(text: str, passage: str) -> list[str]:
    """The sentence's content words, when it has two or more and the cited passage uses none of them: "You can add
    the discount code to your order after you have paid for it" quoting "You can request a new link after 5 minutes",
    or "Globalstar has gaps" from a manual that names no satellite network. A sentence that shares nothing with its
    evidence says something the evidence does not, whatever line it quotes and however true it sounds. Whole words
    compared (crudely stemmed): "globalstar" is not "global"."""
    words = content_words(text)
    return sorted(words) if len(words) >= 2 and not words & content_words(passage) else []


def question_echoed(text: str, passage: str, question: str, name_words: str = "") -> list[str]:
    """The customer's own words that a sentence repeats and the cited passage never uses, when they are three or
    more and most of the sentence's words are not the passage's (two may be what "the lowest setting is not listed"
    says): "I can make it stop, it freaks my kid out at night" is
    the question said back, not an answer, whatever line it quotes. Words compared by their first 5 letters."""
    words = content_words(text) - content_words(name_words)
    used = {w[:5] for w in content_words(passage)}
    unsupported = {w for w in words if w[:5] not in used}
    asked = {w[:5] for w in content_words(question)}
    echoed = sorted(w for w in unsupported if w[:5] in asked)
    return echoed if len(echoed) >= 3 and 2 * len(unsupported) > len(words) else []


# "Is it compatible with Petzl helmet clips?", "can it charge my MacBook Pro?": what it would work with;
# "will it sync my rides to Komoot?", "can I pair it with a Garmin watch?": the app or device it would connect to.
_WORKS_WITH = re.compile(r"\b(?:compatible with|works? with|charge my|fits? (?:on|onto|in|into) (?:my|a|an|the)|"
                         r"use (?:it |them |this |that )?with|"
                         r"(?:sync|synch|upload|export|pair)(?:s|es|ed|ing)?\s+(?:[\w']+\s+){0,3}?(?:to|with|into))"
                         r"\s+(?:(?:my|a|an|the|your|our)\s+)?([^?.!,;]{2,60})", re.IGNORECASE)


def counterpart_unmentioned(question: str, passage: str, name_words: str = "") -> list[str]:
    """The words naming what a compatibility question asks the product to work with ("Petzl helmet clips",
    "MacBook Pro 16 inch") that the cited passage never uses: a manual that does not name it cannot say
    whether it fits, whatever true sentence about ports or mounts it gives. Only when the first such word
    (usually the brand or the kind of thing) or most of them are missing; compared by stem, inside words
    ("phone" is in "smartphone"). The product's own name words do not count."""
    match = _WORKS_WITH.search(question)
    if not match:
        return []
    names = content_words(name_words)
    # The thing named ends where a clause or a preposition starts: "my phone | while it is plugged in".
    thing = re.split(r"\b(?:while|when|whilst|if|because|and|or|but|so|from|on|in|at|with|without|during|to|for|that|which|"
                     r"as|after|before|by|via|it|is|are|too|also|please)\b", match.group(1).lower(), maxsplit=1)[0]
    words = [w for w in _WORD.findall(thing)
             if len(w) > 2 and not w.isdigit() and w not in _STOP and w not in _ASKING and _stem(w) not in names][:4]
    lowered = unicodedata.normalize("NFKC", passage).lower()
    missing = [w for w in words if _stem(w) not in lowered]
    return missing if words and (words[0] in missing or 2 * len(missing) > len(words)) else []


def claim_problem(claim: Claim, passages: dict[int, GroundingPassage], *, question: str = "",
                  brands: list[str] | None = None, name_words: str = "") -> str | None:
    """Why the claim must not be shown (a short reason, for logs and tests), or None when it holds."""
    passage = passages.get(claim.cite)
    if passage is None:
        return "cites a passage that was not given"
    text = strip_citations(claim.text)
    if len(_WORD.findall(text)) < MIN_WORDS:
        return "says nothing"
    if not quote_found(claim.quote, passage.text):
        return "quote not in the cited passage"
    missing = ungrounded_terms(text, passage.text)
    if missing:
        return f"not in the cited passage: {', '.join(missing)}"
    if question and (unsaid := figure_given_for_other(text, passage.text, question, name_words)):
        return f"{FIGURE_FOR_OTHER} {', '.join(unsaid)}, which the cited passage does not mention"
    if question and (echoed := question_echoed(text, passage.text, question, name_words)):
        return f"repeats the customer's words ({', '.join(echoed)}), which the cited passage does not use"
    if unbacked := shares_no_word(text, passage.text):
        return f"shares no word with the cited passage ({', '.join(unbacked)})"
    if question and (unnamed := counterpart_unmentioned(question, passage.text, name_words)):
        return f"the cited passage never mentions {' '.join(unnamed)}, which the question asks it to work with"
    other = [b for b in brands_named(text, brands or []) if b.lower() not in passage.text.lower()]
    if other:
        return f"names {', '.join(other)}, which the cited passage does not"
    asked_brands = [b for b in brands_named(question, brands or []) if b.lower() not in passage.text.lower()]
    if passage.kind == "policy" and asked_brands and not is_shop_matter(question):
        return f"a shop policy cited for a question about {asked_brands[0]}"
    return None


def sentence_with_citation(text: str, cite: int) -> str:
    """The sentence with its one citation inside it, before the final punctuation: "... 3 hours [1].";
    table bars a model copied from a passage read as prose ("Total output | 36 W" -> "Total output: 36 W"), and
    no list marker ("2. Fill the bag" -> "Fill the bag");
    a first word in lower case capitalised."""
    text = strip_citations(text).replace("**", "").strip(" |")  # no markdown bold copied from a passage
    text = re.sub(r"^(?:\d{1,2}\.|[-*•])\s+", "", text)  # nor a step's number or a list's bullet ("1. On the sign-in page")
    text = re.sub(r"\s*\|\s*", ", ", re.sub(r"\s*\|\s*", ": ", text, count=1))
    if re.match(r"[a-z]+(?![^\W\d_])", text):  # a line that starts in lower case ("red, blinking"), not "microSD"
        text = text[0].upper() + text[1:]
    end = re.search(r"([.!?])\1*$", text)  # "Click Forgot password?." ends with its ".", the "?" is the label's
    body, stop = (text[: end.start()], end.group(0)) if end else (text, ".")
    return f"{body.rstrip(' ,;:')} [{cite}]{stop}"


# --- words and injected instructions (shared with the legacy path) -------------------------------

_INJECTION = re.compile(
    r"ignore\s+(all\s+|any\s+|the\s+)?(previous|prior|above|earlier|other)\s+(instructions|rules|passages)"
    r"|disregard\s+(all|the|any|previous|your)\b|system\s+(prompt|notice|message|override)"
    r"|reply\s+only\s+with|respond\s+only\s+with|you\s+are\s+now\b|reveal\s+(your|the)\s+(instructions|prompt|rules)"
    r"|new\s+instructions\s*:",
    re.IGNORECASE,
)
_STOP = set("the a an and or of to in on for with is are was be it its this that your you our we can will from at by as "
            "if not no do does has have when what how which there their them they after before into".split())


def looks_like_injection(text: str) -> bool:
    """A passage that reads like instructions to the assistant ("ignore previous rules", ...)."""
    return bool(_INJECTION.search(text))


def _stem(word: str) -> str:
    """A crude suffix strip, so "charge", "charging" and "charged" count as one word, and so do "fit" and "fits"
    (a plural or third-person "s" leaves 3 letters or more; "less" and "glass" keep theirs)."""
    for suffix, kept in (("ing", 4), ("ed", 4), ("es", 4), ("s", 3), ("e", 4)):
        if word.endswith(suffix) and len(word) - len(suffix) >= kept and not (suffix == "s" and word.endswith("ss")):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    return {_stem(w.lower()) for w in _WORD.findall(text) if len(w) > 2 and w.lower() not in _STOP}
