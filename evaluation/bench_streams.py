"""`manage.py bench --part streams`: page latency with no open chat event streams and with many,
against a real web server (gunicorn with uvicorn workers, started as `make run` starts it) on
127.0.0.1.

Each stream is one anonymous visitor (own session, own pending answer, own address: the server
trusts 127.0.0.1 as its proxy and every client sends its own X-Forwarded-For), so the per-turn,
per-session and per-IP caps are the production ones. The answers are never queued: they wait like
answers behind a busy llm worker. Bounded: the streams open within `open_timeout` seconds and the
pages are fetched one at a time. Everything the bench made is deleted at the end.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path

import redis
from django.conf import settings
from django.contrib.sessions.models import Session

from core.asgi_worker import web_server_args
from evaluation.runner import latency
from support.models import ChatTurn, Conversation

PAGES = ["/", "/accounts/login/", "/cart/"]
BENCH_QUESTION = "bench: stream held open"


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


async def _get(host: str, port: int, path: str, timeout: float = 30) -> tuple[int, float]:
    """One GET with a fresh connection; (status, seconds until the whole body was read)."""
    started = time.monotonic()
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()
    return int(raw.split(b" ", 2)[1]), time.monotonic() - started


async def _pages(host: str, port: int, count: int) -> tuple[list[float], int]:
    seconds, errors = [], 0
    for n in range(count):
        try:
            status, took = await _get(host, port, PAGES[n % len(PAGES)])
        except (OSError, asyncio.TimeoutError, IndexError, ValueError):
            errors += 1
            continue
        seconds.append(took)
        errors += status >= 500 or status == 429
    return seconds, errors


async def _open_stream(host: str, port: int, turn_id: int, cookie: str, address: str, opened: asyncio.Queue):
    """Open one event stream, report once its first bytes arrived, then keep reading until cancelled."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write((f"GET /api/support/chat/turns/{turn_id}/events/ HTTP/1.1\r\nHost: {host}\r\n"
                      f"Cookie: {settings.SESSION_COOKIE_NAME}={cookie}\r\nX-Forwarded-For: {address}\r\n"
                      "Accept: text/event-stream\r\n\r\n").encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        first = await reader.readuntil(b"\n\n") if status == 200 else b""  # a chunk: size line, then "retry: ..."
        await opened.put(status == 200 and b"retry:" in first)
        while await reader.read(4096):
            pass
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        await opened.put(False)
    finally:
        writer.close()


async def _run(host, port, visitors, page_requests, open_timeout, progress) -> dict:
    await _pages(host, port, 5)  # warm up both workers
    idle, idle_errors = await _pages(host, port, page_requests)
    progress(f"  pages, no open streams: p95 {latency(idle)['p95_s'] * 1000:.0f} ms (n={len(idle)}, errors {idle_errors})")
    opened: asyncio.Queue = asyncio.Queue()
    tasks = [asyncio.create_task(_open_stream(host, port, turn_id, cookie, f"10.{n // 250}.{n % 250}.1", opened))
             for n, (turn_id, cookie) in enumerate(visitors)]
    results, deadline = [], time.monotonic() + open_timeout
    while len(results) < len(tasks) and time.monotonic() < deadline:
        try:
            results.append(await asyncio.wait_for(opened.get(), max(0.1, deadline - time.monotonic())))
        except asyncio.TimeoutError:
            break
    open_ok = sum(results)
    progress(f"  {open_ok} of {len(tasks)} streams open")
    loaded, loaded_errors = await _pages(host, port, page_requests)
    still_open = sum(not task.done() for task in tasks)
    progress(f"  pages, {still_open} open streams: p95 {latency(loaded)['p95_s'] * 1000:.0f} ms "
             f"(n={len(loaded)}, errors {loaded_errors})")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"idle": latency(idle), "with_streams": latency(loaded), "streams_requested": len(tasks), "streams_open": open_ok,
            "streams_open_during_pages": still_open, "page_errors": idle_errors + loaded_errors}


def _slots_left(turn_ids: list[int]) -> int:
    """Stream slots still counted for the bench's turns (0 when every disconnect released its slots)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    return sum(int(value or 0) for value in client.mget([f"streams:turn:{pk}" for pk in turn_ids]))


def bench_streams(*, streams: int = 200, page_requests: int = 60, open_timeout: float = 60, port: int = 0,
                  progress: Callable[[str], None], env: dict | None = None) -> dict:
    """Page p50/p95 with 0 and with `streams` open SSE streams; errors; stream slots left after the
    clients went (should be 0: released on disconnect). Starts and stops its own server."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    sessions = []
    for _ in range(streams):
        session = store()
        session.create()
        sessions.append(session.session_key)
    conversations = Conversation.objects.bulk_create([Conversation(session_key=key) for key in sessions])
    turns = ChatTurn.objects.bulk_create([ChatTurn(conversation=c, question=BENCH_QUESTION) for c in conversations])
    try:
        with running_web_server(env={"TRUSTED_PROXIES": "127.0.0.1", **(env or {})}, port=port) as (host, port):
            figures = asyncio.run(_run(host, port, [(t.pk, key) for t, key in zip(turns, sessions, strict=True)],
                                       page_requests, open_timeout, progress))
            time.sleep(2)  # the server notices the closed sockets
            figures["slots_left_after_close"] = _slots_left([t.pk for t in turns])
    finally:
        Conversation.objects.filter(pk__in=[c.pk for c in conversations]).delete()
        Session.objects.filter(session_key__in=sessions).delete()
    idle_p95, loaded_p95 = figures["idle"]["p95_s"], figures["with_streams"]["p95_s"]
    figures["p95_ratio"] = round(loaded_p95 / idle_p95, 2) if idle_p95 else None
    figures["ok"] = bool(figures["streams_open"] == streams and figures["page_errors"] == 0
                         and figures["p95_ratio"] is not None and figures["p95_ratio"] < 10)
    progress(f"  page p95: {idle_p95 * 1000:.0f} ms idle, {loaded_p95 * 1000:.0f} ms with {streams} open streams "
             f"(x{figures['p95_ratio']}); stream slots left after close: {figures['slots_left_after_close']}; "
             f"{'OK' if figures['ok'] else 'NOT OK'}")
    return figures


@contextmanager
def running_web_server(*, env: dict | None = None, port: int = 0, host: str = "127.0.0.1"):
    """The web server as `make run` starts it (gunicorn, uvicorn workers) on host:port (0: any free
    port), with `env` added to this process's environment; yields (host, port) once it answers;
    stopped (SIGTERM, then SIGKILL) on exit. Its log: var/log/web-<port>.log."""
    port = port or _free_port(host)
    log = Path(settings.BASE_DIR) / "var" / "log" / f"web-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), *web_server_args(bind=f"{host}:{port}")],
                                  cwd=settings.BASE_DIR, env={**os.environ, **(env or {})}, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_listening(host, port, server, log)
        yield host, port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _wait_listening(host: str, port: int, server: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the web server exited ({server.returncode}); see {log}")
        try:
            asyncio.run(_get(host, port, "/healthz", timeout=5))
            return
        except (OSError, asyncio.TimeoutError, ValueError, IndexError):
            time.sleep(0.5)
    raise RuntimeError(f"the web server did not answer within {timeout:.0f} s; see {log}")
