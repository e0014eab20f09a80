"""High 1 / Medium 4: the client's address comes only from trusted proxies, in one helper that every
limiter and the DRF throttles use. On today's main the DRF throttle keyed on the whole
X-Forwarded-For header (NUM_PROXIES unset), so a client writing a new one each time was never
throttled, and behind a proxy every visitor shared the proxy's address."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.throttling import SimpleRateThrottle

from core.asgi_worker import WebWorker
from core.ratelimit import client_ip

FACTORY = RequestFactory()


def _request(remote: str, forwarded: str = ""):
    extra = {"REMOTE_ADDR": remote}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return FACTORY.get("/", **extra)


def test_without_trusted_proxies_a_forwarded_for_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []

    assert client_ip(_request("203.0.113.7", "1.2.3.4")) == "203.0.113.7"


def test_behind_a_trusted_proxy_the_client_is_the_first_untrusted_address_from_the_right(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    # the client wrote "6.6.6.6" itself; the proxy appended the address it saw
    assert client_ip(_request("10.0.0.5", "6.6.6.6, 198.51.100.20")) == "198.51.100.20"
    assert client_ip(_request("10.0.0.5", "6.6.6.6, 198.51.100.20, 10.0.0.9")) == "198.51.100.20"


def test_a_forwarded_for_from_an_untrusted_peer_is_not_believed(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert client_ip(_request("198.51.100.20", "10.0.0.1")) == "198.51.100.20"


def test_garbage_in_the_header_counts_on_the_proxy_not_on_a_made_up_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.5"]

    assert client_ip(_request("10.0.0.5", "1.2.3.4, not-an-address")) == "10.0.0.5"


@pytest.mark.django_db
def test_the_api_throttle_cannot_be_dodged_with_a_new_forwarded_for_each_time(client, settings, monkeypatch):
    settings.TRUSTED_PROXIES = []
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "3/minute", "user": "1000/minute"})

    statuses = [client.get(reverse("api-product-list"), HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code for n in range(5)]

    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]


@pytest.mark.django_db
def test_visitors_behind_the_proxy_are_throttled_each_on_their_own(client, settings, monkeypatch):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "2/minute", "user": "1000/minute"})

    first = [client.get(reverse("api-product-list"), HTTP_X_FORWARDED_FOR="192.0.2.1").status_code for _ in range(3)]
    second = client.get(reverse("api-product-list"), HTTP_X_FORWARDED_FOR="192.0.2.2").status_code

    assert first == [200, 200, 429] and second == 200


def test_the_web_server_leaves_forwarded_headers_to_the_app():
    """uvicorn would rewrite the peer address from X-Forwarded-For for any peer in gunicorn's
    forwarded_allow_ips (127.0.0.1 by default): off, so core.ratelimit.client_ip alone decides."""
    assert WebWorker.CONFIG_KWARGS["proxy_headers"] is False


def test_a_trusted_proxy_that_is_no_address_stops_the_app_with_a_clear_error():
    env = {**os.environ, "TRUSTED_PROXIES": "10.0.0.0/8,proxy.internal", "DJANGO_SETTINGS_MODULE": "config.django.base"}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=Path(__file__).resolve().parents[2],
                            env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode != 0
    assert "TRUSTED_PROXIES: 'proxy.internal' is not an IP address or network" in result.stderr
