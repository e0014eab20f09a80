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
