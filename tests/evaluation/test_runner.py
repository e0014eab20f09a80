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


def test_classification_report_counts_a_confusion():
    report = runner.classification_report(["a", "a", "b"], ["a", "b", "b"], ["a", "b"])

    assert report["accuracy"] == pytest.approx(0.667, abs=1e-3)
    assert report["confusion"] == [[1, 1], [0, 1]]


def test_evaluate_runs_end_to_end_and_writes_latest_json(settings, tmp_path, capsys):
    settings.BASE_DIR = tmp_path
    call_command("train_classifiers", "--task", "category")

    call_command("evaluate", "--task", "head", "--task", "triage", "--limit", "2", "--model", "smollm2-135m")

    results = json.loads((tmp_path / "var" / "eval" / "latest.json").read_text())
    assert 0 <= results["category_head"]["accuracy"] <= 1 and results["category_head"]["n"] >= 150
    assert results["triage"]["category"]["n"] == 2 and results["triage"]["latency"]["n"] == 2
    assert "macro-F1" in capsys.readouterr().out


def test_evaluate_retrieval_measures_recall_at_5_over_the_real_index(settings, tmp_path, demo_catalog):
    settings.BASE_DIR = tmp_path

    call_command("evaluate", "--task", "retrieval")

    results = json.loads((tmp_path / "var" / "eval" / "latest.json").read_text())["retrieval"]
    assert results["n"] == 40 and results["k"] == 5
    assert results["question_only"]["document_recall_at_5"] >= 0.8
    assert results["from_product_page"]["document_recall_at_5"] >= results["question_only"]["document_recall_at_5"] - 0.05
