"""The search evaluation's figures per query and per group (evaluation.search): plain data, no database."""

import pytest

from evaluation.search import _query_figures, _summary


def test_a_floor_that_shows_one_of_four_acceptable_products_is_precise_but_hides_the_rest():
    figures = _query_figures(ranked=[1, 2, 3, 4, 9], shown=1, relevant={1, 2, 3, 4})

    assert figures["p1"] == 1.0 and figures["r5"] == 1.0
    assert figures["all_shown_relevant"] == 1.0 and figures["shown_precision"] == 1.0
    assert figures["shown_recall"] == 0.25


def test_shown_precision_and_recall_count_only_the_results_above_the_floor():
    figures = _query_figures(ranked=[1, 9, 2, 8, 3], shown=3, relevant={1, 2, 3})

    assert figures["shown_precision"] == pytest.approx(2 / 3)
    assert figures["shown_recall"] == pytest.approx(2 / 3)
    assert figures["all_shown_relevant"] == 0.0


def test_shown_recall_is_over_one_page_when_more_products_are_acceptable():
    relevant = set(range(1, 21))  # 20 acceptable, a page holds 12

    figures = _query_figures(ranked=list(range(1, 21)), shown=12, relevant=relevant)

    assert figures["shown_recall"] == 1.0
    assert figures["r5"] == 1.0


def test_nothing_shown_is_neither_precise_nor_relevant():
    figures = _query_figures(ranked=[7, 1], shown=0, relevant={1})

    assert figures["shown"] == 0 and figures["shown_precision"] == 0.0 and figures["shown_recall"] == 0.0
    assert figures["all_shown_relevant"] == 0.0 and figures["p1"] == 0.0 and figures["r5"] == 1.0


def test_summary_averages_the_figures_and_takes_the_median_shown():
    rows = [_query_figures(ranked=[1, 2], shown=1, relevant={1, 2}),
            _query_figures(ranked=[9, 1], shown=3, relevant={1})]

    summary = _summary(rows)

    assert summary["n"] == 2 and summary["shown_median"] == 2
    assert summary["precision_at_1"] == 0.5
    assert summary["shown_recall"] == pytest.approx(round((0.5 + 1.0) / 2, 3))
    assert summary["shown_precision"] == pytest.approx(round((1.0 + 1 / 3) / 2, 3))


def test_summary_of_no_queries_says_so():
    assert _summary([]) == {"n": 0}


@pytest.mark.django_db
def test_evaluate_search_reports_the_shown_figures_per_style_for_the_split_asked(demo_catalog):
    from evaluation.search import evaluate_search

    report = evaluate_search(limit=6, split="tune", progress=lambda line: None)

    rows = report["need"]["tune"]["n"] + report["name"]["tune"]["n"]
    assert rows == 6 and report["need"]["holdout"] == {"n": 0} and report["name"]["holdout"] == {"n": 0}
    for style in ("need", "name"):
        figures = report[style]["tune"]
        if figures["n"]:
            assert 0 <= figures["shown_precision"] <= 1 and 0 <= figures["shown_recall"] <= 1
