"""A web process loads the search query encoder before it serves its first request (config/wsgi.py)."""

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
QUERIES = ["warm gloves for winter", "light for reading in the tent", "boil water fast", "map for the trail",
           "dry bag for kayaking", "rain cover for my pack", "pillow for camping", "bear proof food storage",
           "something to sit on by the lake", "keep my feet dry on the trail"]


def _free_port() -> int:
    for port in range(8160, 8170):  # this project's HTTP range for tests
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return port
    pytest.skip("no free port in 8160-8169")


def _get(url: str, timeout: float = 60) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:  # /healthz answers 503 without workers: still an answer
        return exc.code, exc.read()


@pytest.fixture
def web_server(demo_catalog):
    """gunicorn serving config.wsgi on the test database, one worker, as `make run` starts it."""
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.django.test",
           "TEST_WORKER_DATABASE_NAME": connection.settings_dict["NAME"]}
    log_path = ROOT / "var" / "warm-up-web.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application", "--bind",
                                    f"127.0.0.1:{port}", "--workers", "1", "--threads", "4", "--timeout", "120"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # up when /healthz answers, as `make run` waits for it
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited: {log_path.read_text()[-2000:]}")
        try:
            _get(f"{base}/healthz", timeout=120)
            break
        except OSError:
            time.sleep(0.2)
    yield base
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_the_query_encoder_is_loaded_before_the_first_search(web_server):
    """/healthz never encodes anything: the encoder it reports was loaded when the process started."""
    status, body = _get(f"{web_server}/healthz")

    encoder = json.loads(body)["checks"]["query_encoder"]
    assert encoder["warm"] is True and encoder["load_seconds"] is not None, encoder


def test_the_first_search_after_a_start_is_as_fast_as_the_tenth(web_server):
    seconds = []
    for query in QUERIES:  # each a new query: no cached vector, the encoder runs every time
        started = time.monotonic()
        status, _ = _get(f"{web_server}/search/?" + urllib.parse.urlencode({"q": query}))
        seconds.append(time.monotonic() - started)
        assert status == 200

    # Loading the model on first use took about 10 s; encoding a query takes milliseconds. The
    # margin allows for a busy, shared machine.
    assert seconds[0] <= 3 * statistics.median(seconds[1:]) + 0.3, seconds
