import difflib
import hashlib
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Max, Prefetch, Q, QuerySet, Sum
from pgvector.django import CosineDistance

from core.ranking import normalized, relevance_floor, weighted_fusion
from eshop.models import Address, Cart, CartItem, Category, Order, OrderLine, Product, User
from eshop.shipping import FREE_STANDARD_OVER, shipping_cost

CATEGORY_PAGE_SIZE = 12
ORDERS_PAGE_SIZE = 10
SESSION_CART_KEY = "cart"


def product_list_featured(*, limit: int = 8) -> list[Product]:
    return list(Product.objects.filter(is_active=True, stock__gt=0).select_related("category").order_by("-price", "id")[:limit])


def category_list_with_counts() -> QuerySet[Category]:
    return Category.objects.annotate(product_count=Count("products", filter=Q(products__is_active=True))).filter(product_count__gt=0)


def product_list_for_category(*, category: Category, page: str | int | None) -> Page:
    """One page (CATEGORY_PAGE_SIZE products) of a category's active products; a bad page number gives the nearest page."""
    products = Product.objects.filter(category=category, is_active=True).select_related("category").order_by("brand", "model", "id")
    return Paginator(products, CATEGORY_PAGE_SIZE).get_page(page)


def product_get_active(*, slug: str) -> Product | None:
    return Product.objects.filter(slug=slug, is_active=True).select_related("category").first()


def product_list_related(*, product: Product, limit: int = 4) -> list[Product]:
    """The active products nearest to `product` by embedding (pgvector cosine distance, HNSW index).

    Falls back to the same category while the product has no embedding yet (just created, the embed
    queue has not run). Never includes `product` itself.
    """
    others = Product.objects.filter(is_active=True).exclude(pk=product.pk).select_related("category")
    if product.embedding is not None:
        nearest = list(
            others.filter(embedding__isnull=False).order_by(CosineDistance("embedding", product.embedding), "id")[:limit]
        )
        if nearest:
            return nearest
    return list(others.filter(category_id=product.category_id).order_by("-stock", "id")[:limit])


# --- search -----------------------------------------------------------------------------------

SEARCH_PAGE_SIZE = 12
SEARCH_MAX_RESULTS = 60
SEARCH_QUERY_MAX_LENGTH = 200
SEARCH_CANDIDATES = 50  # per ranker
TYPO_MIN_SIMILARITY = 0.75  # difflib ratio of a query word to a catalog name word ("headlmap" ~ "headlamp" is 0.875)
STYLE_TYPO_MIN_SIMILARITY = 0.85  # stricter to count a word as a name: "campsite" ~ "camptech" (0.75) is not one
SEARCH_MAX_FALLBACK_WORDS = 12
SEARCH_FALLBACK_MAX_DF = 0.05  # in the any-word fallback, a word found in more than 5% of products is not distinctive
VECTOR_MAX_DISTANCE = 0.75  # cosine distance; beyond it MiniLM neighbours are noise, and a query about nothing should find nothing
QUERY_VECTOR_CACHE_SECONDS = 3600
# Fusion weights (cosine similarity + weight x full-text rank normalised to the best match). A need
# ("something to keep my drinks cold on a hike") is led by meaning, its words are only evidence: a
# literal "cold" must not lift sleeping bags over the insulated bottle. A name ("glotech headlmap")
# is led by the words. Tuned on the tune part of evaluation/data/search_queries.jsonl.
NEED_LEXICAL_WEIGHT = 0.04
NAME_LEXICAL_WEIGHT = 0.5
FALLBACK_LEXICAL_SHARE = 0.5  # a match on some of the words (any-word fallback, typo correction) counts half
# Relevance floor: shown are the results within GAP of the best fused score (and above MIN); the
# rest stay behind "show more".
NEED_FLOOR_GAP, NEED_FLOOR_MIN = 0.06, 0.25
NAME_FLOOR_GAP, NAME_FLOOR_MIN = 0.3, 0.25
SEARCH_SHOWN_CAP = 24
# Words that make a query read as a sentence about a need, whatever else it holds.
_NEED_CUES = frozenset("i im i'm me my mine we us our you your something anything somewhere how what which where "
                       "want need help".split())
_STOPWORDS = frozenset("a an the to for of on in at by with and or but from up down off out over into is are be "
                       "it its that this these those so when while can do does dont don't not no very too".split())


def _normalize_query(query: str) -> str:
    return " ".join(query.lower().split())


_query_encoder_configured = False


def _configure_query_encoder() -> None:
    """One intra-op thread for query encoding in this (web) process, set once.

    A query is a handful of word pieces: a second thread gains nothing, and on busy CPUs torch's
    OpenMP threads spin-wait on each other: measured 470 ms per query with 2 threads on 2 loaded
    cores against 8 ms with 1.
    """
    global _query_encoder_configured
    if not _query_encoder_configured:
        import torch

        torch.set_num_threads(1)
        _query_encoder_configured = True


def search_query_vector_cache_key(query: str) -> str:
    return "search:qvec:" + hashlib.sha256(_normalize_query(query).encode("utf-8")).hexdigest()


def search_query_vector(*, query: str) -> list[float]:
    """The query's MiniLM vector, cached for an hour under the sha256 of the normalized query.

    The one place where a web process runs the embedding model (loaded once per process by
    llm.engine, at web start: see core.apps): encoding one short query takes about 10 ms on a CPU,
    while a round trip through the broker to an embed worker costs more than that and adds a
    failure mode to every search.
    """
    normalized = _normalize_query(query)
    key = search_query_vector_cache_key(normalized)
    vector = cache.get(key)
    if vector is None:
        from llm.services.embed import embed_text

        _configure_query_encoder()
        vector = embed_text(text=normalized)
        cache.set(key, vector, QUERY_VECTOR_CACHE_SECONDS)
    return vector


def search_query_encoder_warm() -> float:
    """Load the query encoder in this process and encode one query (not cached), so a web process
    answers its first search as fast as its tenth. Returns the seconds it took. Called once per
    web process at start (config/wsgi.py); raises llm's ModelFileError when the model cannot load."""
    from llm.services.embed import embed_text

    started = time.monotonic()
    _configure_query_encoder()
    embed_text(text="warm up the query encoder")
    return time.monotonic() - started


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _name_vocabulary() -> frozenset[str]:
    """Lower-cased, singular words of active products' brands, models and categories, cached until the catalog changes."""
    version = Product.objects.filter(is_active=True).aggregate(n=Count("id"), at=Max("updated_at"))
    key = "search:vocab2:" + hashlib.sha256(f"{version['n']}:{version['at']}".encode()).hexdigest()
    words = cache.get(key)
    if words is None:
        words = set()
        for brand, model, category in Product.objects.filter(is_active=True).values_list("brand", "model", "category__name"):
            words.update(_singular(w) for w in re.findall(r"[a-z0-9]{3,}", f"{brand} {model} {category}".lower()))
        words = sorted(words)
        cache.set(key, words, 3600)
    return frozenset(words)


def _typo_corrections(query: str) -> list[str]:
    """Catalog name words close to the query's unknown words ("headlmap" -> "headlamp").

    This is the trigram ranker's job done in Python: the embedded PostgreSQL (pgserver) ships
    without pg_trgm, and at catalog size (a few thousand distinct name words) difflib is fast.
    """
    vocabulary = _name_vocabulary()
    corrections: list[str] = []
    for word in re.findall(r"[a-z0-9]{4,}", query.lower()):
        if _singular(word) not in vocabulary:
            corrections += [c for c in difflib.get_close_matches(word, vocabulary, n=3, cutoff=TYPO_MIN_SIMILARITY) if c not in corrections]
    return corrections


def search_query_style(query: str) -> str:
    """"name" when the query is mostly product, brand, model or category words (typos forgiven) and
    does not read as a sentence; else "need" (what the shopper wants it for, in plain words)."""
    words = re.findall(r"[a-z0-9']+", query.lower())
    if any(word in _NEED_CUES for word in words):
        return "need"
    content = [_singular(word) for word in words if word not in _STOPWORDS]
    if not content:
        return "need"
    vocabulary = _name_vocabulary()
    named = sum(1 for word in content if word in vocabulary or (len(word) >= 4 and difflib.get_close_matches(
        word, vocabulary, n=1, cutoff=STYLE_TYPO_MIN_SIMILARITY)))
    return "name" if named * 2 >= len(content) else "need"


def _word_document_frequencies(*, words: list[str], vector: SearchVector) -> tuple[int, dict[str, int]]:
    """How many active products match each word (one query): a document frequency, for IDF."""
    counts = Product.objects.filter(is_active=True).annotate(document=vector).aggregate(
        total=Count("id"),
        **{f"w{i}": Count("id", filter=Q(document=SearchQuery(word, config="english"))) for i, word in enumerate(words)},
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
    """Full-text evidence per product in [0, 1]: PostgreSQL ts_rank (brand and model weighted above
    the description, websearch syntax) normalised to the best match; a match on only some of the
    words (a sentence rarely has all its words in one product) or on typo-corrected words counts
    FALLBACK_LEXICAL_SHARE."""
    vector = (SearchVector("brand", weight="A", config="english") + SearchVector("model", weight="A", config="english")
              + SearchVector("description", weight="B", config="english"))

    def ranks(search_query: SearchQuery) -> dict[int, float]:
        # Filter on the match (@@), not on rank > 0: ts_rank gives non-matching rows a tiny positive rank.
        return dict(base.annotate(document=vector, rank=SearchRank(vector, search_query)).filter(document=search_query)
                    .order_by("-rank", "id").values_list("pk", "rank")[:SEARCH_CANDIDATES])

    scores = normalized(ranks(SearchQuery(query, search_type="websearch", config="english")))
    words = list(dict.fromkeys(re.findall(r"\w+", query.lower())))[:SEARCH_MAX_FALLBACK_WORDS]
    partial: dict[int, float] = {}
    if not scores and len(words) > 1:
        # Any of the distinctive words: ts_rank has no IDF, so words found in many products ("hike"
        # is in every boot and pack) would drown the rare, telling ones ("drink").
        total, frequencies = _word_document_frequencies(words=words, vector=vector)
        distinctive = [word for word, n in frequencies.items() if 0 < n <= max(3, total * SEARCH_FALLBACK_MAX_DF)]
        if distinctive:
            partial = normalized(ranks(SearchQuery(" or ".join(distinctive), search_type="websearch", config="english")))
    corrections = _typo_corrections(query)
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
    products = Product.objects.select_related("category").in_bulk([pk for pk, _ in fused])
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


def product_list_popular(*, limit: int = 4) -> list[Product]:
    """Best-selling active products in stock (most units ordered), for empty search results."""
    return list(
        Product.objects.filter(is_active=True, stock__gt=0).annotate(sold=Sum("order_lines__quantity"))
        .select_related("category").order_by(F("sold").desc(nulls_last=True), "-stock", "id")[:limit]
    )


# --- cart -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def line_total(self) -> Decimal:
        return self.product.price * self.quantity

    @property
    def exceeds_stock(self) -> bool:
        return self.quantity > self.product.stock


@dataclass(frozen=True)
class CartSummary:
    lines: list[CartLine] = field(default_factory=list)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def is_empty(self) -> bool:
        return not self.lines

    @property
    def subtotal(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal("0.00"))

    @property
    def standard_shipping(self) -> Decimal:
        """Standard US shipping, the estimate shown on the cart page (checkout prices the real choice)."""
        return shipping_cost(subtotal=self.subtotal, method="standard", country="US")

    @property
    def estimated_total(self) -> Decimal:
        return self.subtotal + self.standard_shipping

    @property
    def free_shipping_over(self) -> Decimal:
        return FREE_STANDARD_OVER

    @property
    def has_stock_problem(self) -> bool:
        return any(line.exceeds_stock for line in self.lines)


def session_cart_items(*, session: SessionBase) -> dict[int, int]:
    """The anonymous cart: {product id: quantity}; anything malformed in the session is dropped."""
    raw = session.get(SESSION_CART_KEY) or {}
    items: dict[int, int] = {}
    if isinstance(raw, dict):
        for key, value in raw.items():
            try:
                product_id, quantity = int(key), int(value)
            except (TypeError, ValueError):
                continue
            if quantity > 0:
                items[product_id] = quantity
    return items


def cart_get(*, user: User | None, session: SessionBase | None) -> CartSummary:
    """The current cart with server prices: the user's Cart when signed in, else the session cart.

    Inactive or deleted products are left out.
    """
    if user is not None and user.is_authenticated:
        items = CartItem.objects.filter(cart__user=user, product__is_active=True).select_related("product__category")
        return CartSummary(lines=[CartLine(product=item.product, quantity=item.quantity) for item in items])
    quantities = session_cart_items(session=session) if session is not None else {}
    if not quantities:
        return CartSummary()
    products = Product.objects.filter(pk__in=quantities, is_active=True).select_related("category").order_by("brand", "model")
    return CartSummary(lines=[CartLine(product=product, quantity=quantities[product.pk]) for product in products])


def cart_item_count(*, user: User | None, session: SessionBase | None) -> int:
    """Number of items in the cart, for the "Cart (n)" link: one cheap query, or none for a session cart."""
    if user is not None and user.is_authenticated:
        return CartItem.objects.filter(cart__user=user, product__is_active=True).aggregate(n=Sum("quantity"))["n"] or 0
    return sum(session_cart_items(session=session).values()) if session is not None else 0


def cart_of_user(*, user: User) -> Cart | None:
    return Cart.objects.filter(user=user).first()


# --- orders -----------------------------------------------------------------------------------

def order_list_for_user(*, user: User) -> QuerySet[Order]:
    return Order.objects.filter(user=user).prefetch_related("lines").order_by("-created_at", "-id")


def order_page_for_user(*, user: User, page: str | int | None) -> Page:
    return Paginator(order_list_for_user(user=user), ORDERS_PAGE_SIZE).get_page(page)


def order_get_for_user(*, user: User, number: str) -> Order | None:
    """The user's own order by public number; None for another customer's (callers answer 404)."""
    return (
        Order.objects.filter(user=user, number=number)
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("product")), "events")
        .first()
    )


# --- addresses --------------------------------------------------------------------------------

def address_list_for_user(*, user: User) -> QuerySet[Address]:
    return Address.objects.filter(user=user)


def address_get_for_user(*, user: User, address_id: int) -> Address | None:
    return Address.objects.filter(user=user, pk=address_id).first()


def address_default_for_user(*, user: User) -> Address | None:
    """The most recently used or edited saved address, to prefill checkout."""
    return address_list_for_user(user=user).first()
