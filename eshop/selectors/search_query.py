"""How a search query reads: its MiniLM vector (cached; the web process's one use of the embedding
model), whether it names products or states a need, and the catalog words its typos stand for.
Used by the product search (eshop.selectors.search) and the knowledge search (support)."""

import difflib
import functools
import hashlib
import re
import time

from django.core.cache import cache
from django.db.models import Count, Max

from eshop.models import Product

TYPO_MIN_SIMILARITY = 0.75  # difflib ratio of a query word to a catalog name word ("headlmap" ~ "headlamp" is 0.875)
STYLE_TYPO_MIN_SIMILARITY = 0.85  # stricter to count a word as a name: "campsite" ~ "camptech" (0.75) is not one
QUERY_VECTOR_CACHE_SECONDS = 3600
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
    return _vocabulary_of_version("search:vocab2:" + hashlib.sha256(f"{version['n']}:{version['at']}".encode()).hexdigest())


@functools.lru_cache(maxsize=1)
def _vocabulary_of_version(key: str) -> frozenset[str]:
    """The vocabulary of one catalog version (`key`), shared through the cache and kept by this process for the
    current version: reading it from the cache and building the set on every search took about 1 ms."""
    words = cache.get(key)
    if words is None:
        words = set()
        for brand, model, category in Product.objects.filter(is_active=True).values_list("brand", "model", "category__name"):
            words.update(_singular(w) for w in re.findall(r"[a-z0-9]{3,}", f"{brand} {model} {category}".lower()))
        words = sorted(words)
        cache.set(key, words, 3600)
    return frozenset(words)


@functools.lru_cache(maxsize=4096)
def _close_words(word: str, vocabulary: frozenset[str], *, n: int, cutoff: float) -> tuple[str, ...]:
    """difflib's closest vocabulary words to `word`, remembered: a shop's searches repeat their words, and one
    look-up over the vocabulary costs about 1 ms ("something to keep my drinks cold on a hike" has five)."""
    return tuple(difflib.get_close_matches(word, vocabulary, n=n, cutoff=cutoff))


def typo_corrections(query: str) -> list[str]:
    """Catalog name words close to the query's unknown words ("headlmap" -> "headlamp").

    This is the trigram ranker's job done in Python: the embedded PostgreSQL (pgserver) ships
    without pg_trgm, and at catalog size (a few thousand distinct name words) difflib is fast.
    """
    vocabulary = _name_vocabulary()
    corrections: list[str] = []
    for word in re.findall(r"[a-z0-9]{4,}", query.lower()):
        if _singular(word) not in vocabulary:
            corrections += [c for c in _close_words(word, vocabulary, n=3, cutoff=TYPO_MIN_SIMILARITY) if c not in corrections]
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
    named = sum(1 for word in content if word in vocabulary or (len(word) >= 4 and _close_words(
        word, vocabulary, n=1, cutoff=STYLE_TYPO_MIN_SIMILARITY)))
    return "name" if named * 2 >= len(content) else "need"
