"""`bench --part scale`: knowledge search, similar-ticket search and hybrid fusion at 100k chunks and
50k tickets, in a schema of their own (bench_scale, dropped afterwards), with the app's index shapes.

Vectors are realistic, not uniform: real MiniLM vectors of varied texts of this shop (manual and
policy paragraphs, customer messages, product descriptions), each stored vector one of them plus a
little of another and small noise, so the data is clustered the way a real knowledge base is (and
HNSW recall is harder than on uniform noise). Queries are real MiniLM vectors of customer
questions and messages. Recall@10 is measured against exact search (numpy, all vectors).

The product filter ("this product's manual and the general articles") is answered as the app does
(support.selectors.knowledge): exact over the product's own chunks (a few hundred, btree index)
plus HNSW over a partial index of the general chunks, merged. pgvector 0.6 (the embedded server)
has no iterative index scans, so filtering one HNSW scan of all chunks would return fewer than ten
rows for most products; that naive form is measured too, to show why.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import numpy as np
from django.db import connection

from core.ranking import normalized, weighted_fusion
from evaluation.runner import knowledge_pages, latency, load_jsonl

SCHEMA = "bench_scale"
PRODUCTS = 200
GENERAL_SHARE = 0.4  # chunks of general articles (no product)


def _base_texts() -> list[str]:
    import json
    from pathlib import Path

    from django.conf import settings

    texts = [p.strip() for page in knowledge_pages().values() for p in re.split(r"\n\s*\n", page) if len(p.strip()) > 40]
    texts += [row["text"] for row in load_jsonl("messages.jsonl")]
    catalog = Path(settings.DEMO_CATALOG_DIR) / "products.json"
    if catalog.exists():
        texts += [f"{p['brand']} {p['model']}. {p['description']}" for p in json.loads(catalog.read_text())]
    return list(dict.fromkeys(texts))


def _realistic(base: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n unit vectors: base[i] + 0.3 x base[j] + N(0, 0.035) noise; returns (vectors, i per vector)."""
    first = rng.integers(len(base), size=n)
    second = rng.integers(len(base), size=n)
    vectors = base[first] + 0.3 * base[second] + rng.normal(0, 0.035, size=(n, base.shape[1])).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32), first


def _build(cursor, texts: list[str], chunks: np.ndarray, chunk_text: np.ndarray, products: np.ndarray, tickets: np.ndarray,
           progress: Callable[[str], None]) -> None:
    cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    cursor.execute(f"CREATE SCHEMA {SCHEMA}")
    cursor.execute(f"""CREATE TABLE {SCHEMA}.chunk (id integer PRIMARY KEY, product_id integer, text text NOT NULL,
                       embedding vector({chunks.shape[1]}) NOT NULL,
                       search_vector tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED)""")
    cursor.execute(f"CREATE TABLE {SCHEMA}.ticket (id integer PRIMARY KEY, embedding vector({tickets.shape[1]}) NOT NULL)")
    started = time.monotonic()
    with cursor.copy(f"COPY {SCHEMA}.chunk (id, product_id, text, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int4", "int4", "text", "vector"])
        for i in range(len(chunks)):
            copy.write_row([i, None if products[i] < 0 else int(products[i]), texts[chunk_text[i]], chunks[i]])
    with cursor.copy(f"COPY {SCHEMA}.ticket (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int4", "vector"])
        for i in range(len(tickets)):
            copy.write_row([i, tickets[i]])
    progress(f"  loaded {len(chunks)} chunks and {len(tickets)} tickets in {time.monotonic() - started:.0f} s; building indexes ...")
    started = time.monotonic()
    cursor.execute("SET maintenance_work_mem = '1GB'")
    for sql in (f"CREATE INDEX ON {SCHEMA}.chunk USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)",
                f"CREATE INDEX ON {SCHEMA}.chunk USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64) "
                f"WHERE product_id IS NULL",
                f"CREATE INDEX ON {SCHEMA}.chunk (product_id)",
                f"CREATE INDEX ON {SCHEMA}.chunk USING gin (search_vector)",
                f"CREATE INDEX ON {SCHEMA}.ticket USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"):
        cursor.execute(sql)
    cursor.execute(f"ANALYZE {SCHEMA}.chunk")
    cursor.execute(f"ANALYZE {SCHEMA}.ticket")
    progress(f"  indexes (HNSW m=16 ef_construction=64, partial HNSW for general chunks, GIN) in {time.monotonic() - started:.0f} s")


def _timed(cursor, sql: str, params) -> tuple[list, float]:
    started = time.monotonic()
    cursor.execute(sql, params)
    rows = cursor.fetchall()
    return rows, time.monotonic() - started


def _exact(vectors: np.ndarray, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> set[int]:
    similarity = vectors @ query
    if mask is not None:
        similarity = np.where(mask, similarity, -np.inf)
    return set(np.argpartition(-similarity, k)[:k].tolist())


def bench_scale(*, chunks: int = 100_000, tickets: int = 50_000, queries: int = 100, ef_search: list[int] | None = None,
                progress: Callable[[str], None]) -> dict:
    """Build, measure at each hnsw.ef_search in `ef_search` (default: the app's, HNSW_EF_SEARCH), drop."""
    from django.conf import settings

    from pgvector.psycopg import register_vector

    from llm.services.embed import embed_texts

    if chunks < 1_000 or tickets < 1_000 or queries < 10:
        raise ValueError("bench --part scale needs at least 1000 chunks, 1000 tickets and 10 queries")
    rng = np.random.default_rng(15)
    texts = _base_texts()
    progress(f"  encoding {len(texts)} base texts of this shop with MiniLM ...")
    base = embed_texts(texts=texts, batch_size=64)
    chunk_vectors, chunk_text = _realistic(base, chunks, rng)
    ticket_vectors, _ = _realistic(base, tickets, rng)
    products = np.where(rng.random(chunks) < GENERAL_SHARE, -1, rng.integers(1, PRODUCTS + 1, size=chunks))
    questions = [row["question"] for row in load_jsonl("kb_questions.jsonl")] + [row["text"] for row in load_jsonl("messages.jsonl")]
    questions = questions[:queries]
    query_vectors = embed_texts(texts=questions, batch_size=64)

    connection.ensure_connection()
    register_vector(connection.connection)
    ef_values = ef_search or [settings.HNSW_EF_SEARCH]
    figures: dict = {"chunks": chunks, "tickets": tickets, "queries": len(questions), "app_ef_search": settings.HNSW_EF_SEARCH,
                     "by_ef_search": {}}
    with connection.cursor() as cursor:
        try:
            _build(cursor, texts, chunk_vectors, chunk_text, products, ticket_vectors, progress)
            for ef in ef_values:
                cursor.execute(f"SET hnsw.ef_search = {int(ef)}")
                measured = figures["by_ef_search"][ef] = _measure(cursor, chunk_vectors, products, ticket_vectors, questions,
                                                                  query_vectors, np.random.default_rng(ef))
                progress(f"  hnsw.ef_search = {ef}{' (the app)' if ef == settings.HNSW_EF_SEARCH else ''}")
                for name, f in measured.items():
                    recall = f"  recall@10 {f['recall_at_10']:.3f}" if "recall_at_10" in f else ""
                    if "same_top_10_as_every_match_ranked" in f:
                        recall = f"  top 10 as when every match is ranked {f['same_top_10_as_every_match_ranked']:.3f}"
                    progress(f"    {name:<32} p50 {f['latency']['p50_s'] * 1000:6.1f} ms  p95 {f['latency']['p95_s'] * 1000:6.1f} ms{recall}")
        finally:
            cursor.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            cursor.execute(f"SET hnsw.ef_search = {int(settings.HNSW_EF_SEARCH)}")
    return figures


def _measure(cursor, chunk_vectors, products, ticket_vectors, questions, query_vectors, rng) -> dict:
    k = 10
    plain, filtered, naive, similar, hybrid, hybrid_any_word, agreement = ([] for _ in range(7))
    recall = {"plain": [], "filtered": [], "naive": [], "similar": []}
    for question, query in zip(questions, query_vectors):
        rows, seconds = _timed(cursor, f"SELECT id FROM {SCHEMA}.chunk ORDER BY embedding <=> %s LIMIT {k}", [query])
        plain.append(seconds)
        recall["plain"].append(len({r[0] for r in rows} & _exact(chunk_vectors, query, k)) / k)

        # The product's own chunks exactly ("+ 0": not the HNSW index, whose scan the filter would
        # starve), the general ones through their partial HNSW index.
        product = int(rng.integers(1, PRODUCTS + 1))
        mask = (products == product) | (products < 0)
        exact = _exact(chunk_vectors, query, k, mask)
        rows, seconds = _timed(cursor, f"""
            SELECT id FROM (
              (SELECT id, embedding <=> %(q)s AS d FROM {SCHEMA}.chunk WHERE product_id = %(p)s ORDER BY (embedding <=> %(q)s) + 0 LIMIT {k})
              UNION ALL
              (SELECT id, embedding <=> %(q)s AS d FROM {SCHEMA}.chunk WHERE product_id IS NULL ORDER BY embedding <=> %(q)s LIMIT {k})
            ) AS both_kinds ORDER BY d LIMIT {k}""", {"q": query, "p": product})
        filtered.append(seconds)
        recall["filtered"].append(len({r[0] for r in rows} & exact) / k)
        rows, seconds = _timed(cursor, f"""SELECT id FROM {SCHEMA}.chunk WHERE product_id = %(p)s OR product_id IS NULL
                                           ORDER BY embedding <=> %(q)s LIMIT {k}""", {"q": query, "p": product})
        naive.append(seconds)
        recall["naive"].append(len({r[0] for r in rows} & exact) / k)

        ticket = ticket_vectors[int(rng.integers(len(ticket_vectors)))]
        rows, seconds = _timed(cursor, f"SELECT id FROM {SCHEMA}.ticket ORDER BY embedding <=> %s LIMIT {k}", [ticket])
        similar.append(seconds)
        recall["similar"].append(len({r[0] for r in rows} & _exact(ticket_vectors, ticket, k)) / k)

        # Hybrid as knowledge_search: HNSW candidates, then full-text ranked by any word among the chunks that
        # hold every word or are candidates (GIN), weighted score fusion. Before: every any-word match ranked.
        words = list(dict.fromkeys(w.lower() for w in re.findall(r"[^\W_]{2,}", question)))[:30]
        fused = {}
        forms = [("app", hybrid, "AND (search_vector @@ plainto_tsquery('english', %(all)s) OR id = ANY(%(ids)s))"),
                 ("any_word", hybrid_any_word, "")]
        for form, timings, ranked_among in forms[:: 1 if len(hybrid) % 2 else -1]:  # each form first every other query
            started = time.monotonic()
            cursor.execute(f"SELECT id, 1 - (embedding <=> %(q)s) FROM {SCHEMA}.chunk ORDER BY embedding <=> %(q)s LIMIT 30",
                           {"q": query})
            semantic = dict(cursor.fetchall())
            cursor.execute(f"""SELECT id, ts_rank(search_vector, q) FROM {SCHEMA}.chunk, websearch_to_tsquery('english', %(any)s) q
                               WHERE search_vector @@ q {ranked_among} ORDER BY 2 DESC, id LIMIT 30""",
                           {"any": " or ".join(words), "all": " ".join(words), "ids": list(semantic)})
            fused[form] = [pk for pk, _ in weighted_fusion([(semantic, 1.0), (normalized(dict(cursor.fetchall())), 0.1)])]
            timings.append(time.monotonic() - started)
        agreement.append(len(set(fused["app"][:k]) & set(fused["any_word"][:k])) / k)
    mean = lambda values: round(float(np.mean(values)), 3)  # noqa: E731
    return {
        "knowledge": {"latency": latency(plain), "recall_at_10": mean(recall["plain"])},
        "knowledge_product_filter": {"latency": latency(filtered), "recall_at_10": mean(recall["filtered"])},
        "knowledge_product_filter_naive": {"latency": latency(naive), "recall_at_10": mean(recall["naive"])},
        "similar_tickets": {"latency": latency(similar), "recall_at_10": mean(recall["similar"])},
        # the share of the first 10 that ranking every any-word match would also give
        "hybrid": {"latency": latency(hybrid), "same_top_10_as_every_match_ranked": mean(agreement)},
        "hybrid_every_any_word_match_ranked": {"latency": latency(hybrid_any_word)},
    }
