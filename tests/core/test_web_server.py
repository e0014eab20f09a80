"""The web server as `make run` starts it: connection handling."""

import http.client
import time
from urllib.parse import urlparse

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_connection_idle_between_two_pages_is_still_open(web_server):
    """A shopper's next page comes over the same keep-alive connection a few seconds later; gunicorn's default
    (2 s) had closed it by then, and a request racing that close ended in "connection reset"."""
    address = urlparse(web_server)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    connection.request("GET", "/")
    first = connection.getresponse()
    first.read()
    socket_before = connection.sock

    time.sleep(4)
    connection.request("GET", "/search/?q=headlamp")
    second = connection.getresponse()
    second.read()

    assert (first.status, second.status) == (200, 200)
    assert connection.sock is socket_before  # the same connection: not closed by the server and reopened
    connection.close()


def _server_database_backends(database: str) -> set[tuple[int, str]]:
    """The PostgreSQL backends (pid, start) connected to `database`, other than this test's own connection."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid, backend_start::text FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid() "
                       "AND backend_type = 'client backend'", [database])
        return set(cursor.fetchall())


def test_pages_reuse_the_servers_database_connections(web_server):
    """Each request borrows a connection from the worker's pool and gives it back: one opened per request (a new
    PostgreSQL backend with cold caches) cost more than some pages' queries."""
    from django.db import connection

    database = connection.settings_dict["NAME"]
    address = urlparse(web_server)
    client = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    client.request("GET", "/")
    client.getresponse().read()
    after_first = _server_database_backends(database)

    statuses = []
    for path in ("/search/?q=headlamp", "/", "/cart/", "/support/help/", "/"):
        client.request("GET", path)
        response = client.getresponse()
        response.read()
        statuses.append(response.status)
    client.close()

    assert statuses == [200] * 5
    assert after_first  # the first page's connection is still open, waiting in the pool
    assert _server_database_backends(database) == after_first  # no backend opened for the later pages


def test_the_one_thread_handler_runs_the_whole_middleware_chain_around_a_view():
    """Ordinary requests go through Django's sync middleware chain in one thread hop (core.asgi_worker): the security,
    CSRF and clickjacking middleware still act on the response."""
    import asyncio

    from core.asgi_worker import OneThreadASGIHandler

    sent, received = [], []

    async def receive():
        received.append(True)
        if len(received) == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(60)  # no disconnect while the response is written

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/accounts/login/", "raw_path": b"/accounts/login/", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 50000), "server": ("localhost", 80)}
    asyncio.run(OneThreadASGIHandler()(scope, receive, send))

    start = next(message for message in sent if message["type"] == "http.response.start")
    headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    assert start["status"] == 200 and b"csrfmiddlewaretoken" in body
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert "csrftoken=" in headers["set-cookie"]


def test_with_the_database_down_pages_fail_and_healthz_says_so_without_a_long_wait(web_server_without_database):
    """The pool retries an unreachable database behind the scenes; a request waits for it at most the pool's
    timeout (3 s), so the server still answers: an error page, and /healthz "down" (a 10 s timeout made it 21 s)."""
    from tests.helpers import http_get

    page_status, _ = http_get(f"{web_server_without_database}/", timeout=8)
    health_status, health = http_get(f"{web_server_without_database}/healthz", timeout=15)

    assert page_status == 500
    assert health_status == 503 and b"down" in health
