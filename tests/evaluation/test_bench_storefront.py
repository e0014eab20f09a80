from pathlib import Path

import pytest
from django.conf import settings

from eshop.models import Product
from eshop.services.catalog import catalog_import
from eshop.tasks import embed_product
from evaluation import bench_storefront as benchmark

pytestmark = pytest.mark.django_db(transaction=True)  # the page threads need committed rows


def test_page_benchmark_serves_every_page_under_concurrency():
    catalog_import(directory=Path(settings.DEMO_CATALOG_DIR))

    figures = benchmark.bench_pages(threads=2, requests_per_thread=5, progress=lambda line: None)

    assert figures["errors"] == []
    assert figures["requests"] == 10 and figures["all_pages"]["p95_s"] > 0


def test_search_benchmark_says_why_it_skips_without_embeddings(monkeypatch):
    # As before the embed worker ran: nothing is sent to it (another test's real worker may be running).
    monkeypatch.setattr(embed_product, "apply_async", lambda *args, **kwargs: None)
    monkeypatch.setattr(embed_product, "delay", lambda *args, **kwargs: None)
    catalog_import(directory=Path(settings.DEMO_CATALOG_DIR))
    assert not Product.objects.filter(embedding__isnull=False).exists()

    assert "no product embeddings" in benchmark.bench_search(progress=lambda line: None)["skipped"]
