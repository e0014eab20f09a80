"""A web process loads the search query encoder before it serves its first request (config/warm_up.py, called by config/asgi.py and config/wsgi.py)."""

import json
import statistics
import time
import urllib.parse

import pytest

from tests.core.conftest import HEALTHZ_TOKEN
from tests.helpers import http_get as _get

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

QUERIES = ["warm gloves for winter", "light for reading in the tent", "boil water fast", "map for the trail",
           "dry bag for kayaking", "rain cover for my pack", "pillow for camping", "bear proof food storage",
           "something to sit on by the lake", "keep my feet dry on the trail"]


def test_the_query_encoder_is_loaded_before_the_first_search(web_server):
    """/healthz never encodes anything: the encoder it reports was loaded when the process started."""
    status, body = _get(f"{web_server}/healthz", headers={"Authorization": f"Bearer {HEALTHZ_TOKEN}"})  # details: staff or token

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
