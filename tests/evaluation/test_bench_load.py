"""bench --part load: Locust against a real gunicorn server, headless, bounded."""

import pytest

from evaluation.bench_load import LoadBenchError, bench_load

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_load_bench_reports_every_endpoint_without_errors(web_server):
    lines = []

    figures = bench_load(host=web_server, users=3, seconds=12, progress=lines.append)

    endpoints = figures["endpoints"]
    assert endpoints["/ (home)"]["requests"] > 0 and endpoints["/ (home)"]["p95_ms"] > 0  # every shopper starts there
    assert len(endpoints) >= 5  # home, "all" and the tasks Locust picked at random
    # counted from when every shopper had signed up: the set-up requests are not in the figures
    assert "/accounts/signup/" not in endpoints and "/api/products/ (setup)" not in endpoints
    assert endpoints["all"]["errors"] == 0, figures["errors"]
    assert any("storefront pages: worst p95" in line for line in lines)


def test_load_bench_says_when_no_server_answers():
    with pytest.raises(LoadBenchError, match="make run"):
        bench_load(host="http://127.0.0.1:8169", users=1, seconds=5, progress=print)


def test_load_bench_refuses_a_run_too_short():
    with pytest.raises(LoadBenchError, match="at least"):
        bench_load(host="http://127.0.0.1:8169", users=1, seconds=1, progress=print)
