"""Small helpers shared by tests."""

import time

import pytest


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.2):
    """Poll until predicate() is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")


def celery_worker_start(*, name: str, queues: str = "chat,llm,embed,default", llm_model: str | None = None,
                        env: dict | None = None, database_name: str | None = None):
    """Start a real `celery worker` on `queues` using the test database and Redis; returns the
    process (its own session, so the whole group can be signalled) once it answers a ping.

    The worker's SLM tasks run SmolLM2 (70 tokens/s) unless told otherwise, so they finish well inside
    their time limit on a busy 2-core machine; the default model is exercised in-process elsewhere.
    """
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    from django.db import connection

    from config.celery import app

    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        **(env or {}),
        "DJANGO_SETTINGS_MODULE": "config.django.test",
        "TEST_WORKER_DATABASE_NAME": database_name or connection.settings_dict["NAME"],
        "LLM_MODEL": llm_model or os.environ.get("TEST_WORKER_LLM_MODEL", "smollm2-135m"),
    }
    log_path = root / "var" / f"{name}-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    node = f"{name}-{os.getpid()}-{time.monotonic_ns()}@%h"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker", "-Q", queues,
             "-c", "1", "-n", node, "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"celery worker exited with {process.returncode}: {log_path.read_text()[-2000:]}")
        if app.control.ping(destination=[node.replace("%h", socket.gethostname())], timeout=0.5):
            return process
    process.kill()
    pytest.fail("celery worker did not answer within 60 s")


def celery_worker_stop(process) -> None:
    import subprocess

    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def http_get(url: str, timeout: float = 60, headers: dict | None = None) -> tuple[int, bytes]:
    """GET over real HTTP: (status, body), an error status included."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:  # /healthz answers 503 without workers: still an answer
        return exc.code, exc.read()


def sse_events(response) -> list[dict]:
    """The events of a streamed (server-sent events) Django test response, pings left out."""
    import json

    events = []
    for block in b"".join(response.streaming_content).decode().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in lines and lines["event"] != "ping":
            events.append({"event": lines["event"], **json.loads(lines["data"])})
    return events
