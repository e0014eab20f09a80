"""`bench --part load`: Locust, headless, for a fixed time and user count, against a running server
(`make run`'s, on 127.0.0.1); prints requests/s and p50/p95/p99 per endpoint, with errors.

Locust runs as its own process (gevent must patch its own interpreter, not this one); its CSV
statistics are read back. Storefront pages (home, category, search, product, cart, checkout) are
held to the product brief's bar: p95 <= 100 ms at the request rate printed.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

LOCUSTFILE = Path(__file__).resolve().parent / "load" / "locustfile.py"
STOREFRONT_P95_BAR_MS = 100
STOREFRONT = ("/ (home)", "/c/[category]/", "/search/?q=[query]", "/p/[product]/", "/cart/add/", "/checkout/")


class LoadBenchError(RuntimeError):
    pass


def _server_up(host: str) -> None:
    try:
        urllib.request.urlopen(f"{host}/", timeout=10).read(1)
    except (urllib.error.URLError, OSError) as exc:
        raise LoadBenchError(f"No server answers at {host} ({exc}): start it with `make run` (or pass --host).") from None


def _number(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def bench_load(*, host: str, users: int, seconds: int, progress: Callable[[str], None]) -> dict:
    if users < 1 or seconds < 5:
        raise LoadBenchError("bench --part load needs at least 1 user and 5 seconds.")
    host = host.rstrip("/")
    _server_up(host)
    with tempfile.TemporaryDirectory() as folder:
        prefix = str(Path(folder) / "load")
        command = [str(Path(sys.executable).parent / "locust"), "-f", str(LOCUSTFILE), "--headless", "--host", host,
                   "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s", "--stop-timeout", "10",
                   "--csv", prefix, "--only-summary", "--loglevel", "WARNING"]
        run = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
        stats_path = Path(f"{prefix}_stats.csv")
        if not stats_path.exists():
            raise LoadBenchError(f"locust wrote no statistics (exit {run.returncode}): {run.stderr[-1500:]}")
        rows = list(csv.DictReader(stats_path.open()))
        failures_path = Path(f"{prefix}_failures.csv")
        failures = list(csv.DictReader(failures_path.open())) if failures_path.exists() else []
    endpoints = {}
    for row in rows:
        name = row["Name"] if row["Type"] != "" else "Aggregated"
        if not _number(row["Request Count"]):
            continue  # a set-up request whose count was reset with the statistics
        endpoints[name if name != "Aggregated" else "all"] = {
            "method": row["Type"], "requests": int(_number(row["Request Count"])), "errors": int(_number(row["Failure Count"])),
            "requests_per_s": round(_number(row["Requests/s"]), 1), "p50_ms": _number(row["50%"]),
            "p95_ms": _number(row["95%"]), "p99_ms": _number(row["99%"])}
    storefront = [e for name, e in endpoints.items() if name in STOREFRONT]
    storefront_p95 = max((e["p95_ms"] for e in storefront), default=0.0)
    figures = {"host": host, "users": users, "seconds": seconds, "endpoints": endpoints,
               "errors": [f"{f['Method']} {f['Name']}: {f['Error']} x{f['Occurrences']}" for f in failures],
               "storefront_worst_p95_ms": storefront_p95, "storefront_p95_bar_ms": STOREFRONT_P95_BAR_MS}
    progress("  (counted from when every shopper had signed up: the sign-up burst is the load generator's set-up)")
    progress(f"  {'endpoint':<40} {'req/s':>6} {'p50':>6} {'p95':>6} {'p99':>6} {'errors':>6}   (ms)")
    for name, e in endpoints.items():
        progress(f"  {(e['method'] + ' ' + name)[:40]:<40} {e['requests_per_s']:>6} {e['p50_ms']:>6.0f} {e['p95_ms']:>6.0f} "
                 f"{e['p99_ms']:>6.0f} {e['errors']:>6}")
    for error in figures["errors"]:
        progress(f"  error: {error}")
    verdict = "meets" if storefront_p95 <= STOREFRONT_P95_BAR_MS and not endpoints.get("all", {}).get("errors") else "MISSES"
    progress(f"  storefront pages: worst p95 {storefront_p95:.0f} ms at {endpoints.get('all', {}).get('requests_per_s', 0)} req/s "
             f"overall, {users} users: {verdict} the bar (p95 <= {STOREFRONT_P95_BAR_MS} ms, 0 errors)")
    return figures
