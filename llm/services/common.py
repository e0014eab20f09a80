"""Shared pieces: input limits, data delimiting, constrained JSON output and its checks."""

import json
import re
import unicodedata

import jsonschema

MAX_INPUT_CHARS = 10_000


class LLMInputError(ValueError):
    """The input cannot be processed (empty, too long, wrong type); nothing was generated."""


class LLMOutputError(RuntimeError):
    """The model's output broke its contract (invalid JSON, a label outside the set)."""


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # C0 controls and DEL, but tab and newline
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f]")


def control_characters_strip(text: str, *, multiline: bool = True) -> str:
    """The one place text loses its control characters (C0 and DEL), trimmed: tabs and newlines stay
    when multiline ("\\r\\n" becomes "\\n", a lone "\\r" goes), else they go too. Every other character,
    emoji and right-to-left text included, is kept. Tickets, chat, knowledge documents and every SLM
    input are cleaned by it."""
    if multiline:
        return _CONTROL.sub("", text.replace("\r\n", "\n")).strip()
    return _CONTROL_ONE_LINE.sub("", text).strip()


def clean_text(text, *, field: str = "text", max_chars: int = MAX_INPUT_CHARS) -> str:
    """Validate and normalize user text: str, not blank, at most max_chars; control characters dropped."""
    if not isinstance(text, str):
        raise LLMInputError(f"{field} must be text, not {type(text).__name__}.")
    text = control_characters_strip(unicodedata.normalize("NFC", text))
    if not text:
        raise LLMInputError(f"{field} is empty.")
    if len(text) > max_chars:
        raise LLMInputError(f"{field} has {len(text):,} characters; the limit is {max_chars:,}.")
    return text


def answer_input_check(*, question, passages, max_passages: int, max_question_chars: int = 2_000) -> str:
    """The input check of an answer from numbered passages (llm.services.answer and its legacy twin):
    the question cleaned (clean_text), the passages a list of at most `max_passages` whose ids are
    unique. Returns the cleaned question; raises LLMInputError."""
    question = clean_text(question, field="question", max_chars=max_question_chars)
    if not isinstance(passages, list) or len(passages) > max_passages:
        raise LLMInputError(f"passages must be a list of at most {max_passages}.")
    ids = [p.id for p in passages]
    if len(set(ids)) != len(ids):
        raise LLMInputError("passage ids must be unique.")
    return question


def as_data(tag: str, text: str) -> str:
    """Wrap untrusted text in a tag the prompt declares as data; any closing tag inside is
    defused, so the text can end neither its own block nor an enclosing one."""
    safe = text.replace("</", "<\u200b/")
    return f"<{tag}>\n{safe}\n</{tag}>"


def parse_json_output(raw: str, schema: dict) -> dict:
    """Parse and validate the model's JSON against the schema it was constrained to."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise LLMOutputError(f"model returned invalid JSON ({exc.msg} at {exc.pos}): {raw[:200]!r}") from None
    try:
        jsonschema.validate(data, schema)
    except jsonschema.ValidationError as exc:
        raise LLMOutputError(f"model output breaks the schema: {exc.message}") from None
    return data


def words_at_most(text: str, limit: int) -> str:
    words = text.split()
    if len(words) <= limit:
        return text.strip()
    return " ".join(words[:limit]).rstrip(",;:") + "…"
