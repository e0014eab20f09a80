from pathlib import Path

import pytest
from django.conf import settings

from evaluation import bench_storefront as benchmark
from eshop.services.catalog import catalog_import

pytestmark = pytest.mark.django_db(transaction=True)  # the page threads need committed rows


def test_page_benchmark_serves_every_page_under_concurrency():
    catalog_import(directory=Path(settings.DEMO_CATALOG_DIR))

    figures = benchmark.bench_pages(threads=2, requests_per_thread=5, progress=lambda line: None)

    assert figures["errors"] == []
    assert figures["requests"] == 10 and figures["all_pages"]["p95_s"] > 0


def test_search_benchmark_says_why_it_skips_without_embeddings():
    catalog_import(directory=Path(settings.DEMO_CATALOG_DIR))

    assert "no product embeddings" in benchmark.bench_search(progress=lambda line: None)["skipped"]
