import json

import pytest
from django.core.management import call_command

from evaluation import runner

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_evaluation_sets_meet_their_minimums():
    messages = runner.load_jsonl("messages.jsonl")
    threads = runner.load_jsonl("threads.jsonl")
    questions = runner.load_jsonl("kb_questions.jsonl")

    assert len(messages) >= 150 and len({m["sentiment"] for m in messages}) == 5
    assert len({m["language"] for m in messages}) > 3
    assert len(threads) >= 20 and len(questions) >= 40
    pages = runner.knowledge_pages()
    assert all(source in pages for q in questions for source in q["sources"])


def test_the_second_triage_set_has_its_own_categories_and_a_holdout():
    rows = runner.load_jsonl("messages_types.jsonl")
    categories = runner.set_categories("categories_types.json")
    defaults = {r["category"] for r in runner.load_jsonl("messages.jsonl")}

    assert len(rows) >= 120 and len(categories) >= 4 and not {c.slug for c in categories} & defaults
    assert all(c.description for c in categories) and {r["category"] for r in rows} == {c.slug for c in categories}
    assert {runner.row_split(r) for r in rows} == {"tune", "holdout"} and len({r["sentiment"] for r in rows}) == 5
    assert {runner.row_split(r) for r in runner.load_jsonl("messages.jsonl")} == {"tune", "holdout"}


def test_a_ticket_file_alone_runs_only_triage_against_it(settings, tmp_path, capsys):
    settings.BASE_DIR = tmp_path
    tickets = tmp_path / "history.json"
    tickets.write_text(json.dumps([{"ref": "A1", "messages": [{"author": "customer", "body": "Where is my order TH-100200?"}],
                                    "category": "order-status", "sentiment": "neutral"}]))

    call_command("evaluate", "--tickets", str(tickets), "--model", "smollm2-135m")

    results = json.loads((tmp_path / "var" / "eval" / "latest.json").read_text())
    assert set(results) == {"triage", "updated_at"} and results["triage"]["tickets"]["splits"]["holdout"]["category"]["n"] == 1
    assert "==> summaries" not in capsys.readouterr().out


def test_reliability_table_gives_accuracy_per_confidence_band():
    table = runner.reliability_table([True, False, True, True], [0.3, 0.6, 0.85, 0.95])

    assert [(b["band"], b["n"], b["accuracy"]) for b in table] == [
        ("0.0-0.5", 1, 1.0), ("0.5-0.8", 1, 0.0), ("0.8-0.9", 1, 1.0), ("0.9-1.0", 1, 1.0)]


def test_urgency_is_reported_per_split_with_the_levels_predicted():
    from types import SimpleNamespace

    rows = [{"urgency": "normal"}, {"urgency": "low"}, {"urgency": "urgent"}, {}]
    predictions = [SimpleNamespace(urgency=level) for level in ("normal", "normal", "high", "high")]

    figures = runner.triage_figures(rows, predictions, labels=["a", "b"])

    assert figures["urgency"] == {"exact": pytest.approx(0.333, abs=1e-3), "within_one": 1.0,
                                  "predicted": {"low": 0, "normal": 2, "high": 1, "urgent": 0}, "n": 3}


def test_classification_report_counts_a_confusion():
    report = runner.classification_report(["a", "a", "b"], ["a", "b", "b"], ["a", "b"])

    assert report["accuracy"] == pytest.approx(0.667, abs=1e-3)
    assert report["confusion"] == [[1, 1], [0, 1]]


def test_evaluate_runs_end_to_end_and_writes_latest_json(settings, tmp_path, capsys):
    settings.BASE_DIR = tmp_path
    call_command("train_classifiers", "--task", "category", "--no-calibration")

    call_command("evaluate", "--task", "head", "--task", "triage", "--limit", "2", "--model", "smollm2-135m")

    results = json.loads((tmp_path / "var" / "eval" / "latest.json").read_text())
    assert 0 <= results["category_head"]["accuracy"] <= 1 and results["category_head"]["n"] >= 150
    for name in ("default", "types"):
        figures = results["triage"][name]
        assert sum(split["category"]["n"] for split in figures["splits"].values()) == 2 and figures["latency"]["n"] == 2
    out = capsys.readouterr().out
    assert "macro-F1" in out and "reliability:" in out and "set 'types'" in out
    assert "calibrations: category none; sentiment none" in out  # none fitted against this model and prompt


def test_evaluate_retrieval_measures_recall_at_5_over_the_real_index(settings, tmp_path, demo_catalog):
    settings.BASE_DIR = tmp_path

    call_command("evaluate", "--task", "retrieval")

    results = json.loads((tmp_path / "var" / "eval" / "latest.json").read_text())["retrieval"]
    assert results["n"] == 40 and results["k"] == 5
    assert results["question_only"]["document_recall_at_5"] >= 0.8
    assert results["from_product_page"]["document_recall_at_5"] >= results["question_only"]["document_recall_at_5"] - 0.05
