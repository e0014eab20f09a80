"""`evaluate --task search`: product search on the labelled set search_queries.jsonl.

Each query has the catalog ids (external ids) of the products a shopper would accept. Figures per
style (need-style: a sentence about what it is for; name-style: product, brand or model words, typos,
filters), for the tune part, the holdout part (never looked at while tuning) and both:

- precision@1: the first result is acceptable;
- recall@5: acceptable products among the first five, over min(5, number acceptable);
- nDCG@10: binary gains, ideal ordering over min(10, number acceptable);
- all_shown_relevant: every result shown above the relevance floor is acceptable (and one is shown);
- shown_precision: the share of the shown results that are acceptable (0 when none is shown);
- shown_recall: acceptable products shown, over min(one page, number acceptable): what the floor
  hides behind "show more" (a floor that shows one headlamp of four fails here, not above);
- shown_median: how many results the floor shows (the rest sit behind "show more").
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from decimal import Decimal

from evaluation.runner import demo_catalog_loaded, latency, load_jsonl

SEARCH_SET = "search_queries.jsonl"


def catalog_ready(progress: Callable[[str], None]) -> None:
    """The demo catalog loaded with current embeddings in this database (embedded here, in-process,
    where the embed queue has not done it yet), so search is evaluated on what shoppers search."""
    from eshop.services.embeddings import product_embed_stale

    demo_catalog_loaded()
    written = product_embed_stale(batch_size=64)
    if written:
        progress(f"    embedded {written} products")


def _query_figures(ranked: list[int], shown: int, relevant: set[int]) -> dict:
    from eshop.selectors.search import SEARCH_PAGE_SIZE

    top5 = ranked[:5]
    shown_relevant = len(relevant & set(ranked[:shown]))
    dcg = sum(1 / math.log2(rank + 2) for rank, pk in enumerate(ranked[:10]) if pk in relevant)
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(10, len(relevant))))
    return {
        "p1": float(bool(ranked) and ranked[0] in relevant),
        "r5": len(relevant & set(top5)) / min(5, len(relevant)),
        "ndcg10": dcg / ideal,
        "all_shown_relevant": float(shown > 0 and all(pk in relevant for pk in ranked[:shown])),
        "shown_precision": shown_relevant / shown if shown else 0.0,
        "shown_recall": shown_relevant / min(SEARCH_PAGE_SIZE, len(relevant)),
        "shown": shown,
    }


def _summary(rows: list[dict]) -> dict:
    if not rows:
        return {"n": 0}
    mean = lambda key: round(sum(r[key] for r in rows) / len(rows), 3)  # noqa: E731
    return {"n": len(rows), "precision_at_1": mean("p1"), "recall_at_5": mean("r5"), "ndcg_at_10": mean("ndcg10"),
            "all_shown_relevant": mean("all_shown_relevant"), "shown_precision": mean("shown_precision"),
            "shown_recall": mean("shown_recall"), "shown_median": statistics.median(r["shown"] for r in rows)}


def evaluate_search(*, limit: int | None, progress: Callable[[str], None], split: str | None = None) -> dict:
    from eshop.models import Product
    from eshop.selectors.search import product_search_ranked

    catalog_ready(progress)
    items = load_jsonl(SEARCH_SET)
    if split:
        items = [item for item in items if item["split"] == split]
    items = items[:limit]
    pk_of = dict(Product.objects.values_list("external_id", "pk"))
    external_of = {pk: ext for ext, pk in pk_of.items()}
    per_query, seconds, failures = [], [], []
    for item in items:
        filters = item.get("filters", {})
        started = time.monotonic()
        results = product_search_ranked(
            query=item["query"], category_slug=filters.get("category"),
            min_price=Decimal(filters["min_price"]) if "min_price" in filters else None,
            max_price=Decimal(filters["max_price"]) if "max_price" in filters else None)
        seconds.append(time.monotonic() - started)
        ranked = [external_of.get(product.pk) for product in results.products]
        figures = _query_figures(ranked, results.shown, set(item["relevant"]))
        per_query.append({**figures, "id": item["id"], "style": item["style"], "split": item["split"], "detected": results.style})
        if figures["p1"] < 1 or figures["r5"] < 1 or not figures["all_shown_relevant"]:
            failures.append(f"{item['id']} {item['query']!r}: top5 {ranked[:5]} shown {results.shown} (acceptable {item['relevant'][:8]})")
    report: dict = {}
    for style in ("need", "name"):
        rows = [r for r in per_query if r["style"] == style]
        report[style] = {"all": _summary(rows), "tune": _summary([r for r in rows if r["split"] == "tune"]),
                         "holdout": _summary([r for r in rows if r["split"] == "holdout"]),
                         "style_detected_right": round(sum(r["detected"] == style for r in rows) / max(len(rows), 1), 3)}
    progress(f"    search: {len(per_query)} queries")
    return {**report, "latency": latency(seconds), "misses": failures}
