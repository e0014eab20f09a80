"""core.ranking: weighted score fusion and the relevance floor (plain data, no database)."""

import pytest

from core.ranking import normalized, relevance_floor, weighted_fusion


def test_normalized_scales_the_best_to_one():
    assert normalized({1: 0.2, 2: 0.1}) == {1: 1.0, 2: 0.5}
    assert normalized({}) == {}
    assert normalized({1: 0.0}) == {1: 0.0}


def test_a_small_weight_is_evidence_not_the_lead():
    """Meaning 0.62 vs 0.55; the literal word match (1.0) of the second at weight 0.04 does not overturn it."""
    semantic = {1: 0.62, 2: 0.55}
    lexical = {2: 1.0}

    assert [pk for pk, _ in weighted_fusion([(semantic, 1.0), (lexical, 0.04)])] == [1, 2]
    assert [pk for pk, _ in weighted_fusion([(semantic, 1.0), (lexical, 0.5)])] == [2, 1]


def test_fusion_counts_an_id_found_by_one_ranker_only_and_breaks_ties_by_id():
    fused = weighted_fusion([({3: 0.5}, 1.0), ({1: 1.0}, 0.5)])

    assert fused == [(1, 0.5), (3, 0.5)]


@pytest.mark.parametrize("scores, kwargs, shown", [
    ([0.8, 0.78, 0.75, 0.5], {"gap": 0.06, "minimum": 0.3}, 3),   # within the gap of the best
    ([0.8, 0.78, 0.75, 0.5], {"gap": 0.5, "minimum": 0.6}, 3),    # never below the minimum
    ([0.2, 0.19], {"gap": 0.1, "minimum": 0.25}, 0),             # a weak best shows nothing
    ([0.9] * 30, {"gap": 0.1, "minimum": 0.1, "cap": 24}, 24),   # at most the cap
    ([], {"gap": 0.1, "minimum": 0.1}, 0),
])
def test_relevance_floor(scores, kwargs, shown):
    assert relevance_floor(scores, **kwargs) == shown
