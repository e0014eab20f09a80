"""Test-suite wiring: the tests' own embedded PostgreSQL + Redis, and a real Celery worker."""

import os

import pytest

_started: list[str] = []


def pytest_configure(config):
    from core import embedded

    services, want_pg, want_redis = embedded.from_settings()
    _started.extend(embedded.ensure_started(services, postgres=want_pg, redis=want_redis))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """After a run with errors, what the machine says: free disk and the tests' PostgreSQL log. A full disk or a
    dead server turns every later database test into an error, and CI keeps no other trace of it."""
    if not terminalreporter.stats.get("error"):
        return
    import shutil

    from core import embedded

    services, _, _ = embedded.from_settings()
    usage = shutil.disk_usage(services.root if services.root.exists() else ".")
    terminalreporter.write_sep("-", "machine state after errors")
    terminalreporter.write_line(f"free disk: {usage.free / 2**30:.1f} GiB of {usage.total / 2**30:.1f} GiB")
    log_file = services.pg_data / "server.log"
    if log_file.exists():
        terminalreporter.write_line(f"last lines of {log_file}:")
        for line in log_file.read_text(errors="replace").splitlines()[-25:]:
            terminalreporter.write_line(f"  {line}")


def pytest_unconfigure(config):
    from core import embedded

    if _started:
        services, _, _ = embedded.from_settings()
        embedded.stop(services, list(_started))


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters and other cached values must not leak between tests."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(scope="session")
def _session_celery_worker(django_db_setup, django_db_blocker):
    """The session's worker process, in a list so that celery_worker_process can replace it."""
    from config.celery import app
    from tests.helpers import celery_worker_start, celery_worker_stop

    app.control.purge()
    held = [celery_worker_start(name="test")]
    yield held
    celery_worker_stop(held[0])


@pytest.fixture
def celery_worker_process(_session_celery_worker):
    """A real `celery worker` process on all queues, using the test database and Redis (one per
    session, started again if an earlier test's broker outage ended it: kombu cannot restore a
    message the worker holds for later, such as a debounced triage, while Redis is down, and exits).

    Tests using it need a django_db mark (transaction=True, so the worker sees their rows): the
    test database's name is read from the connection, which pytest-django renames only then.
    """
    from tests.helpers import celery_worker_start

    if _session_celery_worker[0].poll() is not None:
        _session_celery_worker[0] = celery_worker_start(name="test")
    return _session_celery_worker[0]


# --- the demo catalog with embeddings (search, related products, browser walk) -----------------

_DEMO_VECTORS: dict[str, list[float]] = {}


@pytest.fixture
def demo_catalog(db):
    """The 200-product demo catalog with real MiniLM embeddings, as the embed queue would leave it.

    The vectors are computed once per test session in this process (about 3 s on 2 cores) and
    written to each test's fresh rows; search embeds its queries with the same real model.
    """
    from pathlib import Path

    from django.conf import settings

    from eshop.models import Product
    from eshop.services.catalog import catalog_import
    from eshop.services.embeddings import product_embedding_hash, product_embedding_text
    from llm.services.embed import embed_texts

    from unittest import mock

    from eshop.tasks import embed_product

    with mock.patch.object(embed_product, "delay"):  # the vectors are written below, no queue needed
        catalog_import(directory=Path(settings.DEMO_CATALOG_DIR))
    products = list(Product.objects.select_related("category"))
    texts = {product.pk: product_embedding_text(product=product) for product in products}
    missing = sorted({text for text in texts.values() if text not in _DEMO_VECTORS})
    if missing:
        for text, vector in zip(missing, embed_texts(texts=missing, batch_size=64), strict=True):
            _DEMO_VECTORS[text] = vector.tolist()
    for product in products:
        product.embedding = _DEMO_VECTORS[texts[product.pk]]
        product.embedding_hash = product_embedding_hash(text=texts[product.pk])
    Product.objects.bulk_update(products, ["embedding", "embedding_hash"])
    return products


# --- the browser (Playwright driving Debian's chromium), for every folder's browser tests --------

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]


@pytest.fixture(scope="module")
def chromium_browser():
    import os

    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running on this thread until it stops; Django
    # would then refuse the test's own (synchronous, single-threaded) ORM calls as "async unsafe".
    # They are not. The loop would also break asyncio.run/async_to_sync in any later test, so the
    # browser lives for one module only (stopping Playwright ends the loop).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_page(chromium_browser):
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


# --- the two generator backends (llm/engine.py): in-process, and an OpenAI-compatible server --------

TEST_SERVER_PORT = int(os.environ.get("TEST_LLM_SERVER_PORT", "8171"))


@pytest.fixture(scope="session")
def openai_server():
    """llama-cpp-python's own OpenAI-compatible server on the real SmolLM2 weights (tests/inference_server.py)."""
    from tests.inference_server import start_test_server

    server = start_test_server(port=TEST_SERVER_PORT)
    yield server
    server.stop()


def use_openai_backend(settings, monkeypatch, base_url: str, *, retries: int = 2) -> None:
    """Point the engine at an inference server for one test (fresh generators, capabilities probed anew)."""
    from llm import engine

    settings.LLM_BACKEND, settings.LLM_BASE_URL, settings.LLM_HTTP_RETRIES = "openai", base_url, retries
    settings.LLM_MAX_CONCURRENCY = 4
    monkeypatch.setattr(engine, "_generators", {})


@pytest.fixture(params=["local", "openai"])
def llm_backend(request, settings, monkeypatch):
    """Run the test on both backends with the small model: SmolLM2 in this process, then the same
    weights behind the real server. Returns the backend's name."""
    settings.LLM_MODEL = "smollm2-135m"
    settings.LLM_TIMEOUT_SECONDS = 600  # the default 90 s is too short on a 2-core machine busy with other work
    if request.param == "openai":
        use_openai_backend(settings, monkeypatch, request.getfixturevalue("openai_server").base_url)
    return request.param
