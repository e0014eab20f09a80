"""Product search: meaning (pgvector) and words (PostgreSQL full text) fused (core.ranking), with a
relevance floor. How the query reads (its vector, name or need, typos) is eshop.selectors.search_query."""

import re
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q, QuerySet
from pgvector.django import CosineDistance

from core.ranking import normalized, relevance_floor, weighted_fusion
from eshop.models import Product
from eshop.selectors.search_query import search_query_style, search_query_vector, typo_corrections

SEARCH_PAGE_SIZE = 12
SEARCH_MAX_RESULTS = 60
SEARCH_QUERY_MAX_LENGTH = 200
SEARCH_CANDIDATES = 50  # per ranker
SEARCH_MAX_FALLBACK_WORDS = 12
SEARCH_FALLBACK_MAX_DF = 0.05  # in the any-word fallback, a word found in more than 5% of products is not distinctive
VECTOR_MAX_DISTANCE = 0.75  # cosine distance; beyond it MiniLM neighbours are noise, and a query about nothing should find nothing
# Fusion weights (cosine similarity + weight x full-text rank normalised to the best match). A need
# ("something to keep my drinks cold on a hike") is led by meaning, its words are only evidence: a
# literal "cold" must not lift sleeping bags over the insulated bottle. A name ("glotech headlmap")
# is led by the words. Tuned on the tune part of evaluation/data/search_queries.jsonl.
NEED_LEXICAL_WEIGHT = 0.04
NAME_LEXICAL_WEIGHT = 0.5
FALLBACK_LEXICAL_SHARE = 0.5  # a match on some of the words (any-word fallback, typo correction) counts half
# Relevance floor: shown are the results within GAP of the best fused score (and above MIN); the
# rest stay behind "show more". A need is usually met by several products (four headlamps, a shelf
# of power banks) whose MiniLM similarities spread wider than a name's matches: a gap of 0.06 showed
# a median 3 results and 38% of the acceptable ones (up to a page); 0.10 shows 5-6 and 65%, at
# 0.61 instead of 0.65 of the shown being acceptable (tune part of the search set).
NEED_FLOOR_GAP, NEED_FLOOR_MIN = 0.10, 0.25
NAME_FLOOR_GAP, NAME_FLOOR_MIN = 0.3, 0.25
SEARCH_SHOWN_CAP = 24


def _word_document_frequencies(*, words: list[str]) -> tuple[int, dict[str, int]]:
    """How many active products match each word (one query): a document frequency, for IDF."""
    counts = Product.objects.filter(is_active=True).aggregate(
        total=Count("id"),
        **{f"w{i}": Count("id", filter=Q(search_document=SearchQuery(word, config="english"))) for i, word in enumerate(words)},
    )
    return counts["total"], {word: counts[f"w{i}"] for i, word in enumerate(words)}


@dataclass(frozen=True)
class SearchResults:
    """Product search results, best first. `shown` of them clear the relevance floor; the rest are
    weaker matches for "show more". `style`: how the query was read ("need" or "name")."""
    products: list[Product]
    shown: int
    style: str

    @property
    def relevant(self) -> list[Product]:
        return self.products[:self.shown]


def _lexical_scores(base: QuerySet, query: str) -> dict[int, float]:
    """Full-text evidence per product in [0, 1]: PostgreSQL ts_rank of the stored search document (brand
    and model weighted above the description, websearch syntax) normalised to the best match; a match on only some of the
    words (a sentence rarely has all its words in one product) or on typo-corrected words counts
    FALLBACK_LEXICAL_SHARE."""
    def ranks(search_query: SearchQuery) -> dict[int, float]:
        # Filter on the match (@@), not on rank > 0: ts_rank gives non-matching rows a tiny positive rank.
        return dict(base.annotate(rank=SearchRank(F("search_document"), search_query)).filter(search_document=search_query)
                    .order_by("-rank", "id").values_list("pk", "rank")[:SEARCH_CANDIDATES])

    scores = normalized(ranks(SearchQuery(query, search_type="websearch", config="english")))
    words = list(dict.fromkeys(re.findall(r"\w+", query.lower())))[:SEARCH_MAX_FALLBACK_WORDS]
    partial: dict[int, float] = {}
    if not scores and len(words) > 1:
        # Any of the distinctive words: ts_rank has no IDF, so words found in many products ("hike"
        # is in every boot and pack) would drown the rare, telling ones ("drink").
        total, frequencies = _word_document_frequencies(words=words)
        distinctive = [word for word, n in frequencies.items() if 0 < n <= max(3, total * SEARCH_FALLBACK_MAX_DF)]
        if distinctive:
            partial = normalized(ranks(SearchQuery(" or ".join(distinctive), search_type="websearch", config="english")))
    corrections = typo_corrections(query)
    if corrections:
        typo = normalized(ranks(SearchQuery(" or ".join(corrections), search_type="websearch", config="english")))
        partial = {pk: max(partial.get(pk, 0.0), typo.get(pk, 0.0)) for pk in partial.keys() | typo.keys()}
    for pk, value in partial.items():
        scores[pk] = max(scores.get(pk, 0.0), FALLBACK_LEXICAL_SHARE * value)
    return scores


def product_search_ranked(*, query: str, category_slug: str | None = None, min_price: Decimal | None = None,
                          max_price: Decimal | None = None, limit: int = SEARCH_MAX_RESULTS) -> SearchResults:
    """Active products for `query`, best first, with how many clear the relevance floor.

    Two kinds of evidence over the same filtered products: meaning (cosine similarity between the
    query's and the products' MiniLM embeddings, pgvector) and words (_lexical_scores: full-text,
    any-word fallback, typo correction). Their weighted sum ranks; the weights depend on how the
    query reads (search_query_style): a need is led by meaning, a name by words. Filters: category
    slug, price range (inclusive). Inputs are validated by the caller (form / serializer); a blank
    query gives no results.
    """
    query = (query or "").strip()[:SEARCH_QUERY_MAX_LENGTH]
    if not query:
        return SearchResults(products=[], shown=0, style="need")
    base = Product.objects.filter(is_active=True)
    if category_slug:
        base = base.filter(category__slug=category_slug)
    if min_price is not None:
        base = base.filter(price__gte=min_price)
    if max_price is not None:
        base = base.filter(price__lte=max_price)

    style = search_query_style(query)
    semantic = {pk: 1.0 - distance for pk, distance in
                base.filter(embedding__isnull=False)
                .annotate(distance=CosineDistance("embedding", search_query_vector(query=query)))
                .filter(distance__lt=VECTOR_MAX_DISTANCE).order_by("distance", "id")
                .values_list("pk", "distance")[:SEARCH_CANDIDATES]}
    lexical = _lexical_scores(base, query)
    weight = NEED_LEXICAL_WEIGHT if style == "need" else NAME_LEXICAL_WEIGHT
    fused = weighted_fusion([(semantic, 1.0), (lexical, weight)])[:limit]
    gap, minimum = (NEED_FLOOR_GAP, NEED_FLOOR_MIN) if style == "need" else (NAME_FLOOR_GAP, NAME_FLOOR_MIN)
    shown = relevance_floor([score for _, score in fused], gap=gap, minimum=minimum, cap=SEARCH_SHOWN_CAP)
    products = Product.objects.for_display().select_related("category").in_bulk([pk for pk, _ in fused])
    return SearchResults(products=[products[pk] for pk, _ in fused if pk in products], shown=shown, style=style)


def product_search(*, query: str, category_slug: str | None = None, min_price: Decimal | None = None,
                   max_price: Decimal | None = None, limit: int = SEARCH_MAX_RESULTS) -> list[Product]:
    """Every product_search_ranked result, best first (the relevant ones first, then the weaker ones)."""
    return product_search_ranked(query=query, category_slug=category_slug, min_price=min_price, max_price=max_price,
                                 limit=limit).products


def product_search_page(*, page: str | int | None, show_all: bool = False, **criteria) -> tuple[Page, SearchResults]:
    """One page (SEARCH_PAGE_SIZE) of the results above the relevance floor, or of all of them with
    `show_all`; a bad page number gives the nearest page. Also returns the results (for "show more")."""
    results = product_search_ranked(**criteria)
    listed = results.products if show_all else results.relevant
    return Paginator(listed, SEARCH_PAGE_SIZE).get_page(page), results
