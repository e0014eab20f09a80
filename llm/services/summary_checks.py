"""Checks that a generated summary states only what happened (used by triage and by the evaluation)."""

import re

# A past-tense action by the shop's side: "Agent asked for a photo", "we sent a label", "support refunded".
_AGENT_ACTION = re.compile(
    r"\b(agent|agents|support|we|staff|team|shop|store)\b[^.;]{0,40}?\b(asked|sent|approved|offered|refunded|replied|"
    r"responded|confirmed|arranged|issued|shipped|processed|requested|provided|explained|apologi[sz]ed|told|said|"
    r"escalated|opened|created|replaced|cancell?ed|checked|contacted)\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"\b(no|not|never|nobody|yet)\b|n't\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+")


def invented_agent_action(text: str) -> bool:
    """Whether `text` claims something the shop's side did (only allowed when an agent wrote in the thread).
    A denied action ("No agent has replied yet", "support has not answered") claims nothing."""
    for match in _AGENT_ACTION.finditer(text):
        clause = re.split(r"[.;:!?]", text[: match.start()])[-1] + match.group(0)
        if not _NEGATION.search(clause):
            return True
    return False


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def shared_phrases(text: str, reference: str, n: int = 5) -> set[tuple[str, ...]]:
    """The n-word phrases `text` has in common with `reference` (an example or the instructions)."""
    return _ngrams(text, n) & _ngrams(reference, n)


def shares_phrase(text: str, reference: str, n: int = 5) -> bool:
    return bool(shared_phrases(text, reference, n))
