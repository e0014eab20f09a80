"""A web process loads the search query encoder and prepares its pages before it serves its first request
(config/warm_up.py, called by config/asgi.py and config/wsgi.py)."""

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.core.conftest import HEALTHZ_TOKEN
from tests.helpers import http_get as _get

ROOT = Path(__file__).resolve().parents[2]

QUERIES = ["warm gloves for winter", "light for reading in the tent", "boil water fast", "map for the trail",
           "dry bag for kayaking", "rain cover for my pack", "pillow for camping", "bear proof food storage",
           "something to sit on by the lake", "keep my feet dry on the trail"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_query_encoder_is_loaded_before_the_first_search(web_server):
    """/healthz never encodes anything: the encoder it reports was loaded when the process started."""
    status, body = _get(f"{web_server}/healthz", headers={"Authorization": f"Bearer {HEALTHZ_TOKEN}"})  # details: staff or token

    encoder = json.loads(body)["checks"]["query_encoder"]
    assert encoder["warm"] is True and encoder["load_seconds"] is not None, encoder


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
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


def test_pages_warm_leaves_the_url_tables_built_and_every_project_template_compiled():
    """In a fresh process (this one has long done both): what the first request would otherwise do once."""
    probe = """
import json, django; django.setup()
from django.template import engines
from django.urls import get_resolver
from config.warm_up import pages_warm
loader = engines["django"].engine.template_loaders[0]
before = [get_resolver()._populated, len(loader.get_template_cache)]
pages_warm()
print(json.dumps({"before": before, "after": [get_resolver()._populated, len(loader.get_template_cache)]}))
"""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.django.test", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert out.returncode == 0, out.stderr
    state = json.loads(out.stdout.strip().splitlines()[-1])
    assert state["before"] == [False, 0]
    assert state["after"][0] is True and state["after"][1] >= len(list((ROOT / "templates").rglob("*.html")))
