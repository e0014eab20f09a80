"""Reading the knowledge base: hybrid retrieval (meaning and words, fused by weighted scores, with a relevance floor)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import F, Q, QuerySet, Value
from django.urls import reverse
from pgvector.django import CosineDistance

from core.ranking import normalized, relevance_floor, weighted_fusion
from eshop.selectors.search_query import search_query_style, search_query_vector
from support.models import KnowledgeChunk, KnowledgeDocument
from support.models.knowledge import DocumentKind

KNOWLEDGE_CANDIDATES = 30  # per ranker
KNOWLEDGE_MAX_DISTANCE = 0.8  # cosine distance beyond which a MiniLM neighbour is noise
KNOWLEDGE_QUERY_MAX_CHARS = 2_000
# Fusion as product search: cosine similarity + weight x full-text rank normalised to the best
# match. A question in plain words is led by meaning; one made of product and model words by them.
KNOWLEDGE_NEED_LEXICAL_WEIGHT = 0.1
KNOWLEDGE_NAME_LEXICAL_WEIGHT = 0.5
# Relevance floor: passages further than this below the best fused score are left out (a shorter,
# cleaner prompt for the chat); tuned on evaluation/data/kb_questions.jsonl so recall@5 holds.
KNOWLEDGE_FLOOR_GAP = 0.2
_WORD = re.compile(r"[^\W_]{2,}", re.UNICODE)
# Words of product names that say what a thing is rather than which one it is.
_GENERIC_NAME_WORDS = set("the and with for pro max mini plus system rechargeable portable series edition 2000 3000 "
                          "person bag camp water power bank gps light led".split())


@dataclass(frozen=True)
class KnowledgePassage:
    chunk_id: int
    document_id: int
    text: str
    document_title: str
    heading: str
    page: int | None
    url: str
    score: float
    kind: str
    product_id: int | None

    @property
    def source(self) -> str:
        """"Title, page 3 · heading": how the prompt and the source card name it."""
        where = f", page {self.page}" if self.page else ""
        return f"{self.document_title}{where}" + (f" · {self.heading}" if self.heading else "")

    def as_dict(self) -> dict:
        return {**asdict(self), "source": self.source}


def knowledge_document_url(document: KnowledgeDocument | int | str, page: int | None = None) -> str:
    slug = document.slug if isinstance(document, KnowledgeDocument) else document
    return reverse("support:kb-document", kwargs={"slug": slug}) + (f"#page-{page}" if page else "")


_COINED = re.compile(r"[a-z][A-Z]")  # "AquaMax", "SolarBoost": a made-up name, not an everyday word


def knowledge_product_named(*, query: str) -> int | None:
    """The product with a manual that the question names (brand, two words of its model, or one coined
    model word such as "AquaMax" or "SolarBoost": a capital inside the word), if exactly one. A name written
    as two words ("escape safe", "solar boost") names it too."""
    tokens = [w.lower() for w in _WORD.findall(query)]
    words = set(tokens) | {a + b for a, b in zip(tokens, tokens[1:])}  # "escape safe", "powder peak": EscapeSafe, PowderPeak
    scores: dict[int, int] = {}
    for product_id, brand, model in (KnowledgeDocument.objects.filter(kind=DocumentKind.MANUAL, product__isnull=False, is_published=True)
                                     .values_list("product_id", "product__brand", "product__model").distinct()):
        brand_words = {w.lower() for w in _WORD.findall(brand)} - _GENERIC_NAME_WORDS
        model_words = {w.lower() for w in _WORD.findall(model)} - _GENERIC_NAME_WORDS
        coined = {w.lower() for w in _WORD.findall(model) if _COINED.search(w)} - _GENERIC_NAME_WORDS
        joined = "".join(brand.lower().split())
        score = (2 * (bool(brand_words) and brand_words <= words or joined in words) + len(model_words & words)
                 + len(coined & words))
        if score >= 1 and (score >= 2 or len(model_words) == 1):
            scores[product_id] = score
    if not scores:
        return None
    best = max(scores.values())
    winners = [pid for pid, score in scores.items() if score == best]
    return winners[0] if len(winners) == 1 else None


def _published_chunks(product_id: int | None) -> QuerySet[KnowledgeChunk]:
    chunks = KnowledgeChunk.objects.filter(document__is_published=True)
    if product_id is not None:
        # The product's own manual and the general articles; never another product's manual.
        chunks = chunks.filter(Q(product_id=product_id) | Q(product__isnull=True))
    return chunks


def _semantic_scores(vector: list[float], product_id: int | None) -> dict[int, float]:
    """Cosine similarity of the nearest published chunks (at most KNOWLEDGE_CANDIDATES).

    With a product: its own manual's chunks exactly (a few hundred at most; "+ 0" keeps the planner
    off the HNSW index, whose scan the product filter would starve: pgvector 0.6 filters after it)
    and the general articles through their partial HNSW index, merged. `bench --part scale` measures
    both at 100k chunks.
    """
    def nearest(chunks: QuerySet[KnowledgeChunk], exact: bool) -> list[tuple[int, float]]:
        rows = (chunks.filter(embedding__isnull=False).annotate(distance=CosineDistance("embedding", vector))
                .filter(distance__lt=KNOWLEDGE_MAX_DISTANCE))
        order = (F("distance") + Value(0.0)) if exact else F("distance")
        return list(rows.order_by(order, "id").values_list("pk", "distance")[:KNOWLEDGE_CANDIDATES])

    published = _published_chunks(None)
    if product_id is None:
        found = nearest(published, exact=False)
    else:
        found = sorted(nearest(published.filter(product_id=product_id), exact=True)
                       + nearest(published.filter(product__isnull=True), exact=False), key=lambda row: (row[1], row[0]))
    return {pk: 1.0 - distance for pk, distance in found[:KNOWLEDGE_CANDIDATES]}


def knowledge_search(*, query: str, product_id: int | None = None, limit: int = 5,
                     exclude: Callable[[str], bool] | None = None) -> list[KnowledgePassage]:
    """The `limit` best passages for `query`, best first, each with its chunk id and fused score;
    fewer when the rest fall below the relevance floor (KNOWLEDGE_FLOOR_GAP under the best).

    Two rankers over the published chunks, fused by weighted scores (core.ranking, as product
    search): pgvector cosine similarity to the query's MiniLM vector (HNSW) and PostgreSQL
    full-text search (ranked by any of the query's words, title and heading weighted above the text,
    among the chunks that hold every word or are the similarity's candidates), whose weight depends
    on how the query reads (eshop.selectors.search_query.search_query_style). With `product_id`
    (the page the customer is on, or the product the question names, see knowledge_product_named)
    only that product's manual and the general articles are searched. A blank query finds nothing.
    Passages whose text `exclude` rejects are dropped before the floor is drawn (so a rejected best
    match does not push the good ones below it).
    """
    query = " ".join((query or "").split())[:KNOWLEDGE_QUERY_MAX_CHARS]
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(query)))[:30]
    if not words:
        return []
    semantic = _semantic_scores(search_query_vector(query=query), product_id)
    any_word = SearchQuery(" or ".join(words), search_type="websearch", config="english")
    every_word = SearchQuery(" ".join(words), search_type="plain", config="english")
    # Ranked by any word, but only the chunks holding every word or found by meaning: ranking every
    # any-word match is what made hybrid search slow at 100k chunks (`bench --part scale`).
    lexical = (_published_chunks(product_id).filter(search_vector=any_word)
               .filter(Q(search_vector=every_word) | Q(pk__in=list(semantic))))
    fulltext = normalized(dict(lexical.annotate(rank=SearchRank("search_vector", any_word))
                               .order_by("-rank", "id").values_list("pk", "rank")[:KNOWLEDGE_CANDIDATES]))
    weight = KNOWLEDGE_NEED_LEXICAL_WEIGHT if search_query_style(query) == "need" else KNOWLEDGE_NAME_LEXICAL_WEIGHT
    fused = weighted_fusion([(semantic, 1.0), (fulltext, weight)])
    if exclude is not None:
        candidates = fused[:limit * 3]
        texts = dict(KnowledgeChunk.objects.filter(pk__in=[pk for pk, _ in candidates]).values_list("pk", "text"))
        fused = [(pk, score) for pk, score in candidates if pk in texts and not exclude(texts[pk])]
    fused = fused[:limit]
    fused = fused[:relevance_floor([score for _, score in fused], gap=KNOWLEDGE_FLOOR_GAP, minimum=0.0)]
    scores = dict(fused)
    best = list(scores)
    rows = KnowledgeChunk.objects.filter(pk__in=best).select_related("document").only(
        "id", "text", "heading", "page", "product_id", "document__id", "document__title", "document__slug", "document__kind")
    by_pk = {chunk.pk: chunk for chunk in rows}
    return [
        KnowledgePassage(chunk_id=pk, document_id=by_pk[pk].document_id, text=by_pk[pk].text,
                         document_title=by_pk[pk].document.title, heading=by_pk[pk].heading, page=by_pk[pk].page,
                         url=knowledge_document_url(by_pk[pk].document, by_pk[pk].page), score=round(scores[pk], 5),
                         kind=by_pk[pk].document.kind, product_id=by_pk[pk].product_id)
        for pk in best if pk in by_pk
    ]


def knowledge_search_for_question(*, question: str, page_product_id: int | None = None, limit: int = 5) -> list[KnowledgePassage]:
    """knowledge_search narrowed to the product the customer's page shows, else the one the question names."""
    return knowledge_search(query=question, product_id=page_product_id or knowledge_product_named(query=question), limit=limit)


def knowledge_document_get_published(*, slug: str) -> KnowledgeDocument | None:
    return KnowledgeDocument.objects.filter(slug=slug, is_published=True).select_related("product").first()


def knowledge_document_get_readable(*, slug: str, include_unpublished: bool) -> KnowledgeDocument | None:
    """A document by slug: published ones for everyone, unpublished ones only when `include_unpublished`."""
    documents = KnowledgeDocument.objects.filter(slug=slug)
    return (documents if include_unpublished else documents.filter(is_published=True)).select_related("product").first()


def knowledge_document_titles_published(*, kind: str) -> QuerySet[KnowledgeDocument]:
    """The published documents of one kind for the help center's index, by title: only slug and title are read
    (a manual's body runs to tens of kilobytes, and loading all of them took most of the page's time)."""
    return KnowledgeDocument.objects.filter(is_published=True, kind=kind).only("slug", "title").order_by("title", "id")


def knowledge_document_list(*, kind: str | None = None, product_id: int | None = None) -> QuerySet[KnowledgeDocument]:
    """Every document with its indexing status (staff API, admin), newest first."""
    documents = KnowledgeDocument.objects.select_related("product").order_by("-updated_at", "-id")
    if kind:
        documents = documents.filter(kind=kind)
    if product_id:
        documents = documents.filter(product_id=product_id)
    return documents
