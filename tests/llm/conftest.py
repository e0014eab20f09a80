import pytest

from llm.services.triage import CategoryOption


class FakeGenerator:
    """Stands in for the SLM in unit tests of one service; replies with canned text."""

    def __init__(self, reply: str):
        self.reply = reply
        self.calls: list[dict] = []

    def stream(self, messages, **kwargs):
        self.calls.append({"messages": messages, **kwargs})
        yield from self.reply.split(" ") if " " in self.reply else [self.reply]

    def complete(self, messages, **kwargs):
        self.calls.append({"messages": messages, **kwargs})
        return self.reply


@pytest.fixture
def fake_generator(monkeypatch):
    def install(reply: str) -> FakeGenerator:
        fake = FakeGenerator(reply)
        monkeypatch.setattr("llm.engine.generator", lambda name=None: fake)
        return fake

    return install


@pytest.fixture
def categories() -> list[CategoryOption]:
    import json
    from pathlib import Path

    rows = json.loads((Path(__file__).resolve().parents[2] / "support" / "demo_data" / "ticket_categories.json").read_text())
    return [CategoryOption(slug=r["slug"], name=r["name"], description=r["description"]) for r in rows]
