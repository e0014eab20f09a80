"""`make eval`: every SLM task on the labelled sets in llm/evaluation/data (never used for training).

Results are printed as tables and written to var/eval/latest.json, one key per task with figures
as numbers, so runs can be compared. Other apps add their tasks to the same file through
`write_results`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

DATA_DIR = Path(__file__).resolve().parent / "data"
KNOWLEDGE_DIR = Path(settings.BASE_DIR) / "support" / "demo_data" / "knowledge"


def load_jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA_DIR / name).read_text().splitlines() if line.strip()]


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return round(ordered[index], 3)


def latency(values: list[float]) -> dict:
    return {"p50_s": percentile(values, 0.5), "p95_s": percentile(values, 0.95), "n": len(values)}


def classification_report(gold: list[str], predicted: list[str], labels: list[str]) -> dict:
    """Accuracy, macro-F1 and the confusion matrix (rows gold, columns predicted)."""
    matrix = {g: {p: 0 for p in labels} for g in labels}
    for g, p in zip(gold, predicted, strict=True):
        matrix.setdefault(g, {q: 0 for q in labels})[p] = matrix.get(g, {}).get(p, 0) + 1
    f1s = []
    for label in labels:
        tp = matrix[label][label]
        fp = sum(matrix[g][label] for g in labels if g != label)
        fn = sum(matrix[label][p] for p in labels if p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / max(len(gold), 1)
    return {"accuracy": round(accuracy, 3), "macro_f1": round(sum(f1s) / len(f1s), 3), "n": len(gold), "labels": labels,
            "confusion": [[matrix[g][p] for p in labels] for g in labels]}


def evaluate_triage(*, limit: int | None, model: str | None, use_head: bool, progress: Callable[[str], None]) -> dict:
    from llm.services.labels import SENTIMENT_LEVELS, URGENCY_LEVELS
    from llm.services.triage import triage_ticket
    from support.selectors import ticket_category_options

    categories = ticket_category_options()
    rows = load_jsonl("messages.jsonl")[:limit]
    gold = {"category": [], "sentiment": [], "urgency": [], "language": []}
    predicted = {key: [] for key in gold}
    seconds, errors = [], 0
    for i, row in enumerate(rows, 1):
        try:
            result = triage_ticket(messages=[{"author": "customer", "body": row["text"]}], categories=categories, model=model,
                                   use_head=use_head)
        except Exception as exc:  # noqa: BLE001 - an eval counts failures instead of stopping
            errors += 1
            progress(f"    {row['id']}: {type(exc).__name__}: {exc}")
            continue
        seconds.append(result.seconds)
        for key in gold:
            gold[key].append(row[key] if key != "language" else (row["language"] if row["language"] in {"en", "es", "de", "fr", "it", "nl", "pt"} else "other"))
            predicted[key].append(getattr(result, key))
        if i % 10 == 0 or i == len(rows):
            progress(f"    triage {i}/{len(rows)}")
    sentiment_distance = [abs(SENTIMENT_LEVELS.index(g) - SENTIMENT_LEVELS.index(p)) for g, p in zip(gold["sentiment"], predicted["sentiment"])]
    urgency_distance = [abs(URGENCY_LEVELS.index(g) - URGENCY_LEVELS.index(p)) for g, p in zip(gold["urgency"], predicted["urgency"])]
    return {
        "category": classification_report(gold["category"], predicted["category"], [c.slug for c in categories]),
        "sentiment": {**classification_report(gold["sentiment"], predicted["sentiment"], SENTIMENT_LEVELS),
                      "exact": round(sum(d == 0 for d in sentiment_distance) / max(len(sentiment_distance), 1), 3),
                      "within_one": round(sum(d <= 1 for d in sentiment_distance) / max(len(sentiment_distance), 1), 3)},
        "urgency": {**classification_report(gold["urgency"], predicted["urgency"], URGENCY_LEVELS),
                    "within_one": round(sum(d <= 1 for d in urgency_distance) / max(len(urgency_distance), 1), 3)},
        "language_accuracy": round(sum(g == p for g, p in zip(gold["language"], predicted["language"])) / max(len(gold["language"]), 1), 3),
        "latency": latency(seconds),
        "errors": errors,
        "model": model or settings.LLM_MODEL,
        "used_head": use_head,
    }


def evaluate_head(*, progress: Callable[[str], None]) -> dict:
    """The newest trained category head alone on the evaluation messages (fast, no SLM)."""
    from llm.services.heads import classifier_head_latest, head_predict

    head = classifier_head_latest(task="category")
    if head is None:
        return {"skipped": "no trained head: run `python manage.py train_classifiers`"}
    rows = load_jsonl("messages.jsonl")
    started = time.monotonic()
    predictions = head_predict(head, [r["text"] for r in rows])
    per_text = (time.monotonic() - started) / len(rows)
    report = classification_report([r["category"] for r in rows], [p.label for p in predictions], head.labels)
    return {**report, "head_version": head.version, "seconds_per_text": round(per_text, 4)}


def evaluate_summaries(*, limit: int | None, model: str | None, progress: Callable[[str], None]) -> dict:
    from llm.services.triage import SUMMARY_MAX_WORDS, TITLE_MAX_WORDS, summarize

    rows = load_jsonl("threads.jsonl")[:limit]
    seconds, title_ok, summary_ok, facts_found, facts_total, copied, errors = [], 0, 0, 0, 0, 0, 0
    for i, row in enumerate(rows, 1):
        started = time.monotonic()
        try:
            title, summary = summarize(messages=row["messages"], model=model)
        except Exception as exc:  # noqa: BLE001 - an eval counts failures instead of stopping
            errors += 1
            progress(f"    {row['id']}: {type(exc).__name__}: {exc}")
            continue
        seconds.append(time.monotonic() - started)
        title_ok += len(title.split()) <= TITLE_MAX_WORDS
        summary_ok += len(summary.split()) <= SUMMARY_MAX_WORDS and not summary.endswith("…")
        copied += bool(re.search(r"\b(customer|agent)\s*:", summary, re.IGNORECASE))
        for fact in row.get("key_facts", []):
            facts_total += 1
            facts_found += fact.lower() in f"{title} {summary}".lower()
        progress(f"    summary {i}/{len(rows)}")
    n = max(len(rows), 1)
    return {"title_length_ok": round(title_ok / n, 3), "summary_length_ok_untruncated": round(summary_ok / n, 3),
            "dialogue_copied": round(copied / n, 3), "key_fact_recall": round(facts_found / max(facts_total, 1), 3),
            "latency": latency(seconds), "errors": errors, "n": len(rows)}


def knowledge_pages() -> dict[str, str]:
    """'manuals/x.md#page=2' and 'policies/y.md' -> text, from the demo knowledge base files."""
    pages = {}
    for path in sorted(KNOWLEDGE_DIR.glob("policies/*.md")):
        pages[f"policies/{path.name}"] = path.read_text()
    for path in sorted(KNOWLEDGE_DIR.glob("manuals/*.md")):
        parts = re.split(r"<!--\s*page:\s*(\d+)\s*-->", path.read_text())
        for number, text in zip(parts[1::2], parts[2::2]):
            pages[f"manuals/{path.name}#page={number}"] = text.strip()
    return pages


def knowledge_base_ready(progress: Callable[[str], None]) -> None:
    """The demo knowledge base loaded and indexed in this database (indexed here, in-process, where
    the embed queue has not done it yet), so retrieval is evaluated on what the chat searches."""
    from support.models import KnowledgeDocument
    from support.models.knowledge import IndexStatus
    from support.services.knowledge import document_index, knowledge_demo_ensure

    knowledge_demo_ensure()
    pending = list(KnowledgeDocument.objects.exclude(index_status=IndexStatus.INDEXED).values_list("pk", flat=True))
    for i, pk in enumerate(pending, 1):
        document_index(document_id=pk)
        if i % 10 == 0 or i == len(pending):
            progress(f"    indexed {i}/{len(pending)} knowledge documents")


def _gold_source(source: str) -> tuple[str, int | None]:
    """'manuals/40-x.md#page=2' -> ('40-x', 2); 'policies/y.md' -> ('y', None): document slug and page."""
    path, _, page = source.partition("#page=")
    return path.rsplit("/", 1)[-1].removesuffix(".md"), int(page) if page else None


def _page_product_id(row: dict) -> int | None:
    from eshop.models import Product

    if not row.get("product_id"):
        return None
    return Product.objects.filter(external_id=row["product_id"]).values_list("pk", flat=True).first()


def evaluate_retrieval(*, limit: int | None, progress: Callable[[str], None], k: int = 5) -> dict:
    """recall@k of the chat's retrieval: is a gold source document (and page) among the top k passages?

    Two settings: the question alone (the product is taken from the question when it names one) and
    asked from the product's page (the storefront passes that product). Unanswerable rows are skipped.
    """
    from support.selectors.knowledge import knowledge_search_for_question

    knowledge_base_ready(progress)
    rows = [row for row in load_jsonl("kb_questions.jsonl")[:limit] if row["sources"]]
    figures = {}
    for setting in ("question_only", "from_product_page"):
        document_hits = page_hits = 0
        seconds = []
        misses = []
        for row in rows:
            gold = [_gold_source(source) for source in row["sources"]]
            started = time.monotonic()
            passages = knowledge_search_for_question(
                question=row["question"], limit=k,
                page_product_id=_page_product_id(row) if setting == "from_product_page" else None)
            seconds.append(time.monotonic() - started)
            found = {(p.url.split("/help/", 1)[-1].split("/", 1)[0], p.page) for p in passages}
            slugs = {slug for slug, _ in found}
            document_hit = any(slug in slugs for slug, _ in gold)
            document_hits += document_hit
            page_hits += any((slug, page) in found if page else slug in slugs for slug, page in gold)
            if not document_hit:
                misses.append(row["id"])
        n = max(len(rows), 1)
        figures[setting] = {f"document_recall_at_{k}": round(document_hits / n, 3), f"page_recall_at_{k}": round(page_hits / n, 3),
                            "latency": latency(seconds), "misses": misses}
    progress(f"    retrieval over {len(rows)} answerable questions")
    return {**figures, "n": len(rows), "k": k}


def write_results(results: dict, path: Path | None = None) -> Path:
    """Merge `results` (task -> figures) into var/eval/latest.json (or `path`, e.g. the bench file)."""
    path = path or Path(settings.BASE_DIR) / "var" / "eval" / "latest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = json.loads(path.read_text()) if path.exists() else {}
    existing.update(results)
    existing["updated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path.write_text(json.dumps(existing, indent=2))
    return path

