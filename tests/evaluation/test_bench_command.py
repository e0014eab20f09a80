"""`manage.py bench` runs the light parts by default and the heavy ones only when named.

Unit test of the command's part selection: every part's measuring function is replaced by a fake
that records its part and returns figures of the right shape (nothing is measured or written)."""

from pathlib import Path

import pytest
from django.core.management import call_command

from evaluation import bench_backends, bench_chat, bench_engine, bench_storefront, bench_streams

STAT = {"n": 1, "mean_s": 1.0, "p50_s": 1.0, "p95_s": 1.0, "mean_generated_tokens": 1.0, "category_accuracy": 1.0}
CHAT_SIDE = {"prompt_tokens": STAT, "instant_answer": STAT, "first_token": STAT, "whole_answer": STAT, "abstained": 0, "n": 1}


@pytest.fixture
def ran(monkeypatch) -> list[str]:
    parts = []

    def fake(part, figures=None):
        def measure(**kwargs):
            parts.append(part)
            return figures if figures is not None else {}
        return measure

    monkeypatch.setattr(bench_engine, "bench_embeddings", fake("engine"))
    monkeypatch.setattr(bench_engine, "bench_generation", lambda **kwargs: {})
    monkeypatch.setattr(bench_storefront, "bench_search", fake("storefront"))
    monkeypatch.setattr(bench_storefront, "bench_pages", lambda **kwargs: {})
    monkeypatch.setattr(bench_engine, "bench_triage", fake("triage", {"old": STAT, "new": STAT, "new_over_old_time": 1.0}))
    monkeypatch.setattr(bench_chat, "bench_chat_compare", fake("chat", {"old": CHAT_SIDE, "new": CHAT_SIDE,
                                                                         "ratios_new_over_old": {}, "failed": []}))
    monkeypatch.setattr(bench_streams, "bench_streams", fake("streams"))
    monkeypatch.setattr(bench_backends, "bench_backends", fake("backends"))
    monkeypatch.setattr(bench_backends, "print_backends", lambda figures, say: None)
    monkeypatch.setattr("evaluation.management.commands.bench.bench_scale", fake("scale"))
    monkeypatch.setattr("evaluation.management.commands.bench.bench_load", fake("load"))
    monkeypatch.setattr(bench_engine, "write_bench", lambda results: Path("/dev/null"))  # var/bench/latest.json untouched
    return parts


def test_the_default_run_leaves_out_the_streams_server_and_the_inference_server(ran):
    call_command("bench", "--no-backlog")

    assert ran == ["engine", "storefront", "triage", "chat"]


def test_the_heavy_parts_run_when_named(ran):
    call_command("bench", "--part", "streams", "--part", "backends")

    assert ran == ["streams", "backends"]
