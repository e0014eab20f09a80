"""Test-suite wiring: the tests' own embedded PostgreSQL + Redis, and a real Celery worker."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_started: list[str] = []


def pytest_configure(config):
    from core import embedded

    services, want_pg, want_redis = embedded.from_settings()
    _started.extend(embedded.ensure_started(services, postgres=want_pg, redis=want_redis))


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
def celery_worker_process(django_db_setup, django_db_blocker):
    """A real `celery worker` process on all queues, using the test database and Redis.

    Tests using it need a django_db mark (transaction=True, so the worker sees their rows): the
    test database's name is read from the connection, which pytest-django renames only then.
    """
    from django.db import connection

    from config.celery import app

    app.control.purge()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.django.test",
        "TEST_WORKER_DATABASE_NAME": connection.settings_dict["NAME"],
        # The worker's SLM tasks run SmolLM2 (70 tokens/s) so they finish well inside their time
        # limit on a busy 2-core machine; the default model is exercised in-process elsewhere.
        "LLM_MODEL": os.environ.get("TEST_WORKER_LLM_MODEL", "smollm2-135m"),
    }
    log_path = ROOT / "var" / "test-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker", "-Q", "llm,embed,default",
             "-c", "1", "-n", f"test-{os.getpid()}@%h", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"celery worker exited with {process.returncode}: {log_path.read_text()[-2000:]}")
        if app.control.ping(timeout=0.5):
            break
    else:
        process.kill()
        pytest.fail("celery worker did not answer within 60 s")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()

