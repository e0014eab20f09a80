from collections.abc import Iterator

from llm import engine
from llm.services.common import LLMInputError, clean_text, parse_json_output

MAX_NEW_TOKENS = 1_024


def _clean_messages(messages) -> list[dict]:
    if not isinstance(messages, list) or not messages:
        raise LLMInputError("messages must be a non-empty list of {role, content}.")
    cleaned = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in {"system", "user", "assistant"}:
            raise LLMInputError(f"messages[{i}] needs a role of system, user or assistant.")
        cleaned.append({"role": message["role"], "content": clean_text(message.get("content"), field=f"messages[{i}].content")})
    return cleaned


def generate_stream(*, messages: list[dict], max_tokens: int = 256, stop: list[str] | None = None,
                    json_schema: dict | None = None, time_limit: float | None = None, model: str | None = None) -> Iterator[str]:
    """Chat completion as a stream of text pieces (temperature 0).

    Raises LLMInputError for bad messages or max_tokens outside 1..1024, and
    engine.GenerationTimeout when time_limit passes mid-generation.
    """
    if not isinstance(max_tokens, int) or not 1 <= max_tokens <= MAX_NEW_TOKENS:
        raise LLMInputError(f"max_tokens must be an integer from 1 to {MAX_NEW_TOKENS}.")
    cleaned = _clean_messages(messages)
    return engine.generator(model).stream(cleaned, max_tokens=max_tokens, stop=stop, json_schema=json_schema, time_limit=time_limit)


def generate_json(*, messages: list[dict], json_schema: dict, max_tokens: int = 256, time_limit: float | None = None,
                  model: str | None = None) -> dict:
    """Constrained JSON output, parsed and validated; LLMOutputError when it breaks the schema."""
    raw = "".join(generate_stream(messages=messages, json_schema=json_schema, max_tokens=max_tokens, time_limit=time_limit, model=model))
    return parse_json_output(raw, json_schema)
