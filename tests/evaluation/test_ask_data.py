"""`evaluate --task ask_data`: the set, the scoring (a canned SQL writer stands in for the model in the
scoring tests) and one real generation with SmolLM2 end to end."""

import json

import pytest
from django.core.management import call_command

from evaluation import runner
from evaluation.ask_data import evaluate_ask_data, result_key, sample_support_data_ensure
from support.analytics.safe_sql import sql_check
from support.models import Ticket
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_set_has_at_least_20_questions_whose_gold_sql_passes_the_guard():
    rows = runner.load_jsonl("ask_data.jsonl")

    assert len(rows) >= 20 and len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        sql_check(row["sql"])


def test_results_compare_as_multisets_of_rows_with_any_column_order():
    assert result_key([["open", 2], ["closed", 1]], ordered=False) == result_key([[1, "closed"], [2.0, "open"]], ordered=False)
    assert result_key([["open", 2]], ordered=False) != result_key([["open", 2], ["open", 2]], ordered=False)
    assert result_key([["a", 1], ["b", 2]], ordered=True) != result_key([["b", 2], ["a", 1]], ordered=True)
    assert result_key([[3.14159]], ordered=False) == result_key([[3.1]], ordered=False)


def test_an_empty_database_is_skipped_with_a_clear_message():
    result = evaluate_ask_data(limit=2, model=None, progress=print)

    assert "no tickets or no orders" in result["skipped"]


@pytest.fixture
def shop_with_tickets():
    OrderFactory(user=UserFactory(email="customer@example.com"))
    return sample_support_data_ensure()


def test_sample_data_fills_tickets_once(shop_with_tickets):
    assert shop_with_tickets.startswith("sample data: 19 tickets")  # the entries of customer@example.com
    assert sample_support_data_ensure() == "tickets exist: no sample data added"
    assert Ticket.objects.filter(first_response_at__isnull=False).exists()


def test_gold_sql_written_back_scores_everything_correct_and_nonsense_nothing(shop_with_tickets, monkeypatch):
    gold = {r["question"]: r["sql"] for r in runner.load_jsonl("ask_data.jsonl")}
    monkeypatch.setattr("support.analytics.ask.sql_write", lambda question, model=None: gold[question])
    assert evaluate_ask_data(limit=None, model="canned", progress=lambda _: None)["execution_accuracy"] == 1.0

    monkeypatch.setattr("support.analytics.ask.sql_write", lambda question, model=None: "SELECT 42")
    result = evaluate_ask_data(limit=3, model="canned", progress=lambda _: None)
    assert (result["execution_accuracy"], result["wrong"]) == (0.0, 3)

    monkeypatch.setattr("support.analytics.ask.sql_write", lambda question, model=None: "DROP TABLE eshop_user")
    assert evaluate_ask_data(limit=2, model="canned", progress=lambda _: None)["refused"] == 2


@pytest.mark.slow
def test_evaluate_command_runs_ask_data_with_a_real_model(shop_with_tickets, settings, tmp_path, capsys):
    settings.BASE_DIR = tmp_path

    call_command("evaluate", "--task", "ask_data", "--limit", "2", "--model", "smollm2-135m")

    results = json.loads((tmp_path / "var" / "eval" / "latest.json").read_text())["ask_data"]
    assert results["n"] == 2 and results["latency"]["n"] + results["errors"] == 2
    assert 0 <= results["execution_accuracy"] <= 1
    assert "execution accuracy" in capsys.readouterr().out
