"""A real web server (gunicorn with uvicorn workers on config.asgi, as `make run` starts it) for tests that need one."""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from core.asgi_worker import web_server_args
from tests.helpers import http_get

ROOT = Path(__file__).resolve().parents[2]
HEALTHZ_TOKEN = "test-monitor"  # the server's /healthz shows its details for this token


def _free_port() -> int:
    for port in range(8160, 8170):  # this project's HTTP range for tests
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return port
    pytest.skip("no free port in 8160-8169")


@contextmanager
def _serving(**env_overrides):
    """gunicorn as `make run` starts it (one worker) with these environment overrides; yields its base URL once
    /healthz answers (whatever its status), stops it afterwards."""
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.django.test",
           "TEST_WORKER_DATABASE_NAME": connection.settings_dict["NAME"], "HEALTHZ_TOKEN": HEALTHZ_TOKEN, **env_overrides}
    log_path = ROOT / "var" / "test-web-server.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"),
                                    *web_server_args(bind=f"127.0.0.1:{port}", workers=1)],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # up when /healthz answers, as `make run` waits for it
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited: {log_path.read_text()[-2000:]}")
        try:
            http_get(f"{base}/healthz", timeout=120)
            break
        except OSError:
            time.sleep(0.2)
    try:
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def web_server(demo_catalog):
    """The web server as `make run` starts it (one worker) on the test database."""
    with _serving() as base:
        yield base


@pytest.fixture
def web_server_without_database():
    """The web server with its database unreachable (nothing listens on port 1)."""
    with _serving(DATABASE_URL="postgresql://shop:pw@127.0.0.1:1/shop") as base:
        yield base
