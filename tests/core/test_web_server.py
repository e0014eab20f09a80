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
