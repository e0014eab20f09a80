"""`make eval`: every SLM task on the labelled sets in evaluation/data (never used for training).

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

from support.analytics.selectors import percentile

DATA_DIR = Path(__file__).resolve().parent / "data"
KNOWLEDGE_DIR = Path(settings.BASE_DIR) / "support" / "demo_data" / "knowledge"


def load_jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA_DIR / name).read_text().splitlines() if line.strip()]


def latency(values: list[float]) -> dict:
    return {"p50_s": round(percentile(values, 0.5) or 0.0, 3), "p95_s": round(percentile(values, 0.95) or 0.0, 3), "n": len(values)}


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


TRIAGE_SETS = {
    # name -> (messages file, categories file or None for the shop's active categories)
    "default": ("messages.jsonl", None),
    "types": ("messages_types.jsonl", "categories_types.json"),
}
CONFIDENCE_BANDS = [(0.0, 0.5), (0.5, 0.8), (0.8, 0.9), (0.9, 1.01)]


def row_split(row: dict) -> str:
    """A row's split: its own "split", else every third row of a set (by id number) is holdout."""
    if row.get("split"):
        return row["split"]
    return "holdout" if int(re.sub(r"\D", "", row["id"]) or 0) % 3 == 0 else "tune"


def set_categories(categories_file: str | None):
    from llm.services.triage import CategoryOption
    from support.selectors import ticket_category_options

    if categories_file is None:
        return ticket_category_options()
    return [CategoryOption(**row) for row in json.loads((DATA_DIR / categories_file).read_text())]


def reliability_table(correct: list[bool], confidence: list[float]) -> list[dict]:
    """Accuracy per confidence band (is a label with confidence >= 0.8 right at least 80% of the time?)."""
    table = []
    for low, high in CONFIDENCE_BANDS:
        hits = [ok for ok, c in zip(correct, confidence, strict=True) if low <= c < high]
        table.append({"band": f"{low:.1f}-{min(high, 1.0):.1f}", "n": len(hits),
                      "accuracy": round(sum(hits) / len(hits), 3) if hits else None})
    return table


def spearman(x: list[float], y: list[float]) -> float | None:
    from scipy.stats import spearmanr

    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    return round(float(spearmanr(x, y).statistic), 3)


def triage_figures(rows: list[dict], predictions: list, labels: list[str]) -> dict:
    """Category accuracy/macro-F1/reliability, sentiment exact/within-one/Spearman and urgency exact/within-one/
    predicted levels for paired rows and predictions."""
    from llm.labels import SENTIMENT_LEVELS, URGENCY_LEVELS

    figures = {}
    labelled = [(r, p) for r, p in zip(rows, predictions) if r.get("category")]
    if labelled:
        figures["category"] = classification_report([r["category"] for r, _ in labelled], [p.category for _, p in labelled], labels)
        figures["category"]["reliability"] = reliability_table([r["category"] == p.category for r, p in labelled],
                                                              [p.category_confidence for _, p in labelled])
        figures["category"]["accuracy_uncalibrated_slm"] = round(
            sum(r["category"] == p.uncalibrated["category"] for r, p in labelled) / len(labelled), 3)
    pairs = [(r["sentiment"], p) for r, p in zip(rows, predictions) if r.get("sentiment")]
    if pairs:
        distance = [abs(SENTIMENT_LEVELS.index(g) - SENTIMENT_LEVELS.index(p.sentiment)) for g, p in pairs]
        figures["sentiment"] = {
            **classification_report([g for g, _ in pairs], [p.sentiment for _, p in pairs], SENTIMENT_LEVELS),
            "exact": round(sum(d == 0 for d in distance) / len(distance), 3),
            "within_one": round(sum(d <= 1 for d in distance) / len(distance), 3),
            "spearman_score_vs_level": spearman([p.sentiment_score for _, p in pairs], [SENTIMENT_LEVELS.index(g) for g, _ in pairs]),
            "exact_uncalibrated": round(sum(g == p.uncalibrated["sentiment"] for g, p in pairs) / len(pairs), 3),
        }
    urgency = [(r["urgency"], p.urgency) for r, p in zip(rows, predictions) if r.get("urgency")]
    if urgency:
        figures["urgency"] = {
            "exact": round(sum(g == p for g, p in urgency) / len(urgency), 3),
            "within_one": round(sum(abs(URGENCY_LEVELS.index(g) - URGENCY_LEVELS.index(p)) <= 1 for g, p in urgency)
                                / len(urgency), 3),
            "predicted": {level: sum(p == level for _, p in urgency) for level in URGENCY_LEVELS},
            "n": len(urgency),
        }
    rated = [(r["satisfaction"], p.sentiment_score) for r, p in zip(rows, predictions) if r.get("satisfaction") is not None]
    if rated:
        figures["spearman_score_vs_satisfaction"] = spearman([s for _, s in rated], [float(g) for g, _ in rated])
    return figures


def evaluate_classification(*, rows: list[dict], categories, model: str | None, use_head: bool,
                            progress: Callable[[str], None], label: str) -> dict:
    """Category, sentiment and urgency of each row's ticket as the pipeline classifies it (no summary
    generation); figures for the tune and holdout splits separately. The label calibrations used are the
    database's, fitted on the shop's labelled tickets (`train_classifiers`), never on these rows; the
    uncalibrated SLM's figures come from the same readings."""
    from llm.services.triage import classify_ticket
    from llm.services.triage_prompt import clean_thread

    done, predictions, seconds, errors = [], [], [], 0
    for i, row in enumerate(rows, 1):
        messages = row.get("messages") or [{"author": "customer", "body": row["text"]}]
        started = time.monotonic()
        try:
            predictions.append(classify_ticket(clean_thread(messages), categories, model=model, use_head=use_head))
        except Exception as exc:  # noqa: BLE001 - an eval counts failures instead of stopping
            errors += 1
            progress(f"    {row['id']}: {type(exc).__name__}: {exc}")
            continue
        seconds.append(time.monotonic() - started)
        done.append(row)
        if i % 10 == 0 or i == len(rows):
            progress(f"    {label} {i}/{len(rows)}")
    labels = [c.slug for c in categories]
    result = {"splits": {}, "latency": latency(seconds), "errors": errors, "model": model or settings.LLM_MODEL,
              "used_head": use_head, "categories": labels, "calibrations": calibrations_used(categories, model)}
    for split in ("tune", "holdout"):
        chosen = [(r, p) for r, p in zip(done, predictions) if row_split(r) == split]
        if chosen:
            result["splits"][split] = triage_figures([r for r, _ in chosen], [p for _, p in chosen], labels)
    return result


def calibrations_used(categories, model: str | None) -> dict:
    """{task: "v3, fitted on 69 labelled tickets, held-out folds 0.68 -> 0.88, head weight 0.25" or "none"} for this
    category set."""
    from llm.services.calibration import label_calibration_for
    from llm.services.triage import calibration_targets

    used = {}
    for task, (fingerprint, labels) in calibration_targets(categories).items():
        found = label_calibration_for(task=task, model=model or settings.LLM_MODEL, fingerprint=fingerprint, labels=labels)
        used[task] = (f"v{found.version}, fitted on {found.train_size} labelled tickets, held-out folds "
                      f"{found.accuracy_before:.2f} -> {found.accuracy_after:.2f}, "
                      + (f"level bounds {found.level_bounds}" if found.level_bounds else f"head weight {found.head_weight}")
                      ) if found else "none"
    return used


def evaluate_triage(*, limit: int | None, model: str | None, use_head: bool, progress: Callable[[str], None],
                    split: str | None = None, sets: list[str] | None = None) -> dict:
    """Both labelled triage sets (the default categories and a set of four other ones), tune and holdout apart."""
    results = {}
    for name in sets or list(TRIAGE_SETS):
        messages_file, categories_file = TRIAGE_SETS[name]
        rows = [r for r in load_jsonl(messages_file) if split is None or row_split(r) == split]
        if limit:  # an even spread over the set (its rows are grouped by category), not its first rows
            rows = rows[:: max(1, len(rows) // limit)][:limit]
        results[name] = evaluate_classification(rows=rows, categories=set_categories(categories_file), model=model,
                                                use_head=use_head and categories_file is None, progress=progress, label=name)
    return results


def evaluate_ticket_file(*, path: str, limit: int | None, model: str | None, use_head: bool,
                         progress: Callable[[str], None]) -> dict:
    """Triage measured against a labelled ticket file in the import_tickets format (nothing is imported)."""
    from support.selectors import ticket_category_options
    from support.services.ticket_import import tickets_file_read, tickets_rows_check

    items = tickets_rows_check(tickets_file_read(path))[:limit]
    rows = [{"id": item.ref or f"row-{item.row}", "messages": item.messages, "split": "holdout",
             "category": item.category.slug if item.category else None, "sentiment": item.sentiment or None,
             "satisfaction": item.satisfaction} for item in items]
    return evaluate_classification(rows=rows, categories=ticket_category_options(), model=model, use_head=use_head,
                                   progress=progress, label="tickets")


def evaluate_products(*, progress: Callable[[str], None]) -> dict:
    """Product detection top-1 on the loose-name set and on the default set's rows that name a product, and how
    often a product is named for a message that names none (rows without a "product_id" key were not labelled for
    products and are left out)."""
    from eshop.models import Product
    from eshop.services.embeddings import product_embedding_text
    from llm.services.embed import embed_texts
    from support.services.product_detect import ProductCandidate, product_match

    demo_catalog_loaded()
    products = list(Product.objects.filter(is_active=True).select_related("category"))
    vectors = embed_texts(texts=[product_embedding_text(product=p) for p in products])
    figures = {}
    for name, rows in (("loose_names", load_jsonl("products_loose.jsonl")), ("default_set", load_jsonl("messages.jsonl"))):
        rows = [r for r in rows if "product_id" in r]
        texts = embed_texts(texts=[r["text"] for r in rows])
        hits = named = unnamed_rows = misses = 0
        wrong = []
        for row, vector in zip(rows, texts, strict=True):
            similarity = vectors @ vector
            candidates = [ProductCandidate(id=p.external_id, brand=p.brand, model=p.model, similarity=float(s))
                          for p, s in zip(products, similarity, strict=True)]
            found, confidence = product_match(row["text"], candidates)
            if row.get("product_id"):
                hits += found == row["product_id"]
                misses += found is None
                if found != row["product_id"]:
                    wrong.append(f"{row['id']}: {found} ({confidence})")
            else:
                unnamed_rows += 1
                named += found is not None
        n = sum(1 for r in rows if r.get("product_id"))
        figures[name] = {"top1": round(hits / max(n, 1), 3), "empty": round(misses / max(n, 1), 3), "n": n,
                         "named_when_none": round(named / unnamed_rows, 3) if unnamed_rows else None, "wrong": wrong}
        progress(f"    {name}: top-1 {figures[name]['top1']:.3f} (n={n}), empty {figures[name]['empty']:.3f}, "
                 f"a product named for a message naming none: {figures[name]['named_when_none']}")
    return figures


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
    from llm.services.summary_checks import invented_agent_action, shares_phrase
    from llm.services.triage_one_call import SUMMARY_EXAMPLE
    from llm.services.triage_prompt import SUMMARY_TASK
    from llm.services.triage_summary import SUMMARY_MAX_WORDS, TITLE_MAX_WORDS, summarize

    # What a summary must not repeat: the old prompt's example (it was copied into summaries) and the instructions.
    prompt_text = " ".join(SUMMARY_EXAMPLE.values()) + " " + SUMMARY_TASK
    rows = load_jsonl("threads.jsonl")
    if limit:  # half from threads an agent answered, half from threads no agent has answered yet
        answered = [r for r in rows if any(m["author"] == "agent" for m in r["messages"])]
        unanswered = [r for r in rows if r not in answered]
        rows = answered[: limit - limit // 2] + unanswered[: limit // 2]
    seconds, title_ok, summary_ok, facts_found, facts_total, copied, errors = [], 0, 0, 0, 0, 0, 0
    invented, example_copies, words = 0, 0, []
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
        words.append(len(summary.split()))
        if not any(m["author"] == "agent" for m in row["messages"]) and invented_agent_action(summary):
            invented += 1
            progress(f"    {row['id']}: invented agent action: {summary}")
        if shares_phrase(f"{title} {summary}", prompt_text):
            example_copies += 1
            progress(f"    {row['id']}: copied a phrase of the prompt: {summary}")
        for fact in row.get("key_facts", []):
            facts_total += 1
            facts_found += fact.lower() in f"{title} {summary}".lower()
        progress(f"    summary {i}/{len(rows)}")
    n = max(len(rows), 1)
    return {"title_length_ok": round(title_ok / n, 3), "summary_length_ok_untruncated": round(summary_ok / n, 3),
            "dialogue_copied": round(copied / n, 3), "invented_agent_actions": invented,
            "copied_example_phrases": example_copies, "max_summary_words": max(words, default=0),
            "threads_without_agent": sum(not any(m["author"] == "agent" for m in r["messages"]) for r in rows),
            "key_fact_recall": round(facts_found / max(facts_total, 1), 3),
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


def demo_catalog_loaded() -> None:
    """The demo catalog in this database (imported here when the database has no product)."""
    from eshop.models import Product
    from eshop.services.catalog import catalog_import

    if not Product.objects.exists():
        catalog_import(directory=Path(settings.DEMO_CATALOG_DIR))


def knowledge_base_ready(progress: Callable[[str], None]) -> None:
    """The demo knowledge base loaded and indexed in this database (indexed here, in-process, where
    the embed queue has not done it yet), so retrieval is evaluated on what the chat searches. The
    manuals belong to the demo catalog's products, so the catalog is loaded first; a manual left
    out is an error (figures over the policies alone would mean nothing)."""
    from core.jobs import JobStatus
    from support.models import KnowledgeDocument
    from support.services.knowledge import document_index, knowledge_demo_ensure

    demo_catalog_loaded()
    skipped = knowledge_demo_ensure().skipped
    if skipped:
        raise RuntimeError(f"{len(skipped)} demo manuals have no product in this database's catalog: {', '.join(skipped[:5])}")
    pending = list(KnowledgeDocument.objects.exclude(status=JobStatus.DONE).values_list("pk", flat=True))
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
        seconds, returned = [], []
        misses = []
        for row in rows:
            gold = [_gold_source(source) for source in row["sources"]]
            started = time.monotonic()
            passages = knowledge_search_for_question(
                question=row["question"], limit=k,
                page_product_id=_page_product_id(row) if setting == "from_product_page" else None)
            seconds.append(time.monotonic() - started)
            returned.append(len(passages))
            found = {(p.url.split("/help/", 1)[-1].split("/", 1)[0], p.page) for p in passages}
            slugs = {slug for slug, _ in found}
            document_hit = any(slug in slugs for slug, _ in gold)
            document_hits += document_hit
            page_hits += any((slug, page) in found if page else slug in slugs for slug, page in gold)
            if not document_hit:
                misses.append(row["id"])
        n = max(len(rows), 1)
        figures[setting] = {f"document_recall_at_{k}": round(document_hits / n, 3), f"page_recall_at_{k}": round(page_hits / n, 3),
                            "passages_mean": round(sum(returned) / max(len(returned), 1), 2), "latency": latency(seconds), "misses": misses}
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

