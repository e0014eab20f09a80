"""Fusing rankers and deciding how many results are worth showing: plain data in, plain data out.

Used by product search (eshop) and knowledge search (support). Scores, not ranks, are fused: a
cosine similarity and a normalised full-text rank say how good a match is, which a rank cannot,
and the relevance floor needs exactly that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def normalized(scores: Mapping[int, float]) -> dict[int, float]:
    """Scores divided by the best one (full-text ranks have no fixed scale): the best is 1.0."""
    top = max(scores.values(), default=0.0)
    return {key: value / top for key, value in scores.items()} if top > 0 else {key: 0.0 for key in scores}


def weighted_fusion(rankers: Iterable[tuple[Mapping[int, float], float]]) -> list[tuple[int, float]]:
    """(id, fused score) best first, ties by id: the weighted sum of each ranker's score (0 where a
    ranker did not find the id). `rankers`: (scores by id, weight) pairs, each scores in [0, 1]."""
    fused: dict[int, float] = {}
    for scores, weight in rankers:
        for key, value in scores.items():
            fused[key] = fused.get(key, 0.0) + weight * value
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def relevance_floor(scores: list[float], *, gap: float, minimum: float, cap: int | None = None) -> int:
    """How many of `scores` (best first) to show: those within `gap` of the best and at least
    `minimum`; at most `cap`. A weak best result shows nothing (the caller offers "show more")."""
    if not scores or scores[0] < minimum:
        return 0
    floor = max(scores[0] - gap, minimum)
    shown = sum(1 for score in scores if score >= floor)
    return min(shown, cap) if cap else shown
