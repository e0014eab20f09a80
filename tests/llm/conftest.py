import re

import pytest

from llm.services.triage import CategoryOption


class FakeGenerator:
    """Stands in for the SLM in unit tests of one service; replies with canned text.

    option_probabilities / text_probabilities: `choose(messages, options)` decides (default: uniform); continue_text: the
    field being filled (the last `"name": "` of the prefix) is looked up in `values`; continue_texts: each prefix so.
    """

    def __init__(self, reply: str = "", *, choose=None, values: dict | None = None):
        self.reply = reply
        self.choose = choose
        self.values = values or {}
        self.calls: list[dict] = []
        self.name = "fake"
        self.last_usage = type("Usage", (), {"completion_tokens": 0})()

    def option_probabilities(self, messages, *, options, answer_prefix="", aside=False):
        self.calls.append({"messages": messages, "options": options})
        if len(set(options)) != len(options):
            raise ValueError("options do not all start with different tokens")
        return self._shares(messages, options)

    def text_probabilities(self, messages, *, texts, answer_prefix=""):
        self.calls.append({"messages": messages, "texts": texts, "answer_prefix": answer_prefix})
        if len(set(texts)) != len(texts):
            raise ValueError("text_probabilities needs at least two different texts.")
        return self._shares(messages, texts)

    def _shares(self, messages, options):
        """0.9 for the option `choose` picks (the rest shared), uniform when it picks none."""
        picked = self.choose(messages, options) if self.choose else None
        if picked is None:
            return [1 / len(options)] * len(options)
        rest = 0.1 / max(len(options) - 1, 1)
        return [0.9 if option == picked else rest for option in options]

    def continue_text(self, messages, *, answer_prefix, max_tokens, stop):
        self.calls.append({"messages": messages, "answer_prefix": answer_prefix})
        field = re.findall(r'"(\w+)": "$', answer_prefix)[-1]
        self.last_usage = type("Usage", (), {"completion_tokens": 3})()
        value = self.values.get(field, f"the {field} of the ticket")
        return min((value[:value.index(s)] for s in stop if s in value), key=len, default=value)  # as a model stops

    def continue_texts(self, messages, *, answer_prefixes, max_tokens, stops):
        texts = [self.continue_text(messages, answer_prefix=prefix, max_tokens=limit, stop=stop)
                 for prefix, limit, stop in zip(answer_prefixes, max_tokens, stops, strict=True)]
        self.last_usage = type("Usage", (), {"completion_tokens": 3 * len(texts)})()
        return texts

    def stream(self, messages, **kwargs):
        self.calls.append({"messages": messages, **kwargs})
        yield from self.reply.split(" ") if " " in self.reply else [self.reply]

    def complete(self, messages, **kwargs):
        self.calls.append({"messages": messages, **kwargs})
        return self.reply


@pytest.fixture
def fake_generator(monkeypatch):
    def install(reply: str = "", **kwargs) -> FakeGenerator:
        fake = FakeGenerator(reply, **kwargs)
        monkeypatch.setattr("llm.engine.generator", lambda name=None: fake)
        return fake

    return install


@pytest.fixture
def categories() -> list[CategoryOption]:
    import json
    from pathlib import Path

    rows = json.loads((Path(__file__).resolve().parents[2] / "support" / "demo_data" / "ticket_categories.json").read_text())
    return [CategoryOption(slug=r["slug"], name=r["name"], description=r["description"]) for r in rows]
