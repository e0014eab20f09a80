"""`make bench` storefront figures: search latency (new and cached queries) and page latency
under concurrent load (in-process WSGI requests from several threads, no network)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.core.cache import cache
from django.db import connection
from django.test import Client

from eshop.models import Category, Product
from eshop.selectors.search import product_search
from eshop.selectors.search_query import search_query_vector_cache_key
from evaluation.runner import latency

SEARCH_QUERIES = [
    "headlamp", "headlmap", "water filter", "something to keep my drinks cold on a hike", "solar charger for my phone",
    "warm sleeping bag for winter", "tent for two people", "gps tracker with sos", "camping stove", "hiking boots",
    "backpack 40 liters", "first aid kit", "lantern", "bike computer", "action camera waterproof",
    "portable power bank", "trekking poles", "hammock with mosquito net", "avalanche beacon", "satellite messenger",
]


def bench_search(*, progress: Callable[[str], None]) -> dict:
    if not Product.objects.filter(embedding__isnull=False).exists():
        return {"skipped": "no product embeddings yet: run `make run` once (the embed worker fills them)"}
    for query in SEARCH_QUERIES[:2]:
        product_search(query=query)  # load the query encoder outside the timing
    cold, warm = [], []
    for query in SEARCH_QUERIES:
        cache.delete(search_query_vector_cache_key(query))  # a new query: no cached vector
        started = time.monotonic()
        product_search(query=query)
        cold.append(time.monotonic() - started)
        started = time.monotonic()
        product_search(query=query)
        warm.append(time.monotonic() - started)
    figures = {"new_query": latency(cold), "cached_query_vector": latency(warm), "products": Product.objects.count()}
    progress(f"  search: new query p50 {figures['new_query']['p50_s'] * 1000:.0f} ms / p95 {figures['new_query']['p95_s'] * 1000:.0f} ms; "
             f"cached p50 {figures['cached_query_vector']['p50_s'] * 1000:.0f} ms / p95 {figures['cached_query_vector']['p95_s'] * 1000:.0f} ms")
    return figures


def bench_pages(*, threads: int = 8, requests_per_thread: int = 25, progress: Callable[[str], None]) -> dict:
    category = Category.objects.filter(products__isnull=False).first()
    product = Product.objects.filter(is_active=True).first()
    if category is None or product is None:
        return {"skipped": "no catalog loaded"}
    paths = ["/", f"/c/{category.slug}/", f"/p/{product.slug}/", "/search/?q=headlamp", "/cart/"]
    timings: dict[str, list[float]] = {path: [] for path in paths}
    errors: list[str] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        client = Client()
        try:
            for i in range(requests_per_thread):
                path = paths[(i + offset) % len(paths)]
                started = time.monotonic()
                response = client.get(path)
                elapsed = time.monotonic() - started
                with lock:
                    timings[path].append(elapsed)
                    if response.status_code != 200:
                        errors.append(f"{path}: {response.status_code}")
        finally:
            connection.close()

    for path in paths:  # warm caches and the query encoder
        Client().get(path)
    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall = time.monotonic() - started
    every = [t for values in timings.values() for t in values]
    figures = {"threads": threads, "requests": len(every), "requests_per_s": round(len(every) / wall, 1),
               "all_pages": latency(every), "per_page": {path: latency(values) for path, values in timings.items()},
               "errors": errors[:10]}
    progress(f"  pages under {threads} concurrent clients: {figures['requests_per_s']} req/s, "
             f"p50 {figures['all_pages']['p50_s'] * 1000:.0f} ms / p95 {figures['all_pages']['p95_s'] * 1000:.0f} ms, errors {len(errors)}")
    for path, values in figures["per_page"].items():
        progress(f"    {path:<40} p50 {values['p50_s'] * 1000:.0f} ms  p95 {values['p95_s'] * 1000:.0f} ms")
    return figures
