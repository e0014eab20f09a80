"""`make bench` part "triage": the whole triage pipeline through real Celery workers (commit ->
enqueue -> debounce -> llm worker -> row done): latency per ticket, one at a time, and throughput
with a backlog. Uses the running workers when they answer (e.g. `make run`), else starts the
default setup for the time of the bench: one llm worker (-c 1, LLM_MODEL) and one embed/default
worker, as run_stack does. Bench tickets belong to a bench customer and are deleted afterwards.

Part "chat" is in evaluation/bench_chat.py (CHAT_QUESTIONS below are its questions)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.test.utils import override_settings

from evaluation.runner import latency

BENCH_CUSTOMER = "bench-triage@example.invalid"
TIMEOUT_PER_TICKET = 180


def _bench_texts(count: int) -> list[str]:
    from support.services.demo_tickets import DEMO_TICKETS_FILE, _fill_orders

    rows = json.loads(DEMO_TICKETS_FILE.read_text())
    texts = [_fill_orders(row["messages"][0]["body"], {}) for row in rows]
    return [texts[i % len(texts)] for i in range(count)]


def _start_worker(*, name: str, queues: str, concurrency: int = 1) -> subprocess.Popen:
    celery = [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker", "--loglevel", "WARNING",
              "--without-gossip", "--without-mingle"]
    log = (Path(settings.BASE_DIR) / "var" / "log")
    log.mkdir(parents=True, exist_ok=True)
    with (log / f"{name}.log").open("ab") as out:
        return subprocess.Popen([*celery, "-Q", queues, "-c", str(concurrency), "-n", f"{name}@%h"],
                                cwd=settings.BASE_DIR, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _start_default_workers() -> list[subprocess.Popen]:
    return [_start_worker(name="bench-llm", queues="chat,llm"),
            _start_worker(name="bench-main", queues="embed,default", concurrency=2)]


def _wait_done(ticket_ids: list[int], deadline: float) -> dict[int, float]:
    """Monotonic time at which each ticket's triage ended (done or failed)."""
    from core.jobs import JobStatus
    from support.models import Ticket

    ended: dict[int, float] = {}
    while len(ended) < len(ticket_ids) and time.monotonic() < deadline:
        for pk in Ticket.objects.filter(pk__in=[i for i in ticket_ids if i not in ended],
                                        ai_status__in=[JobStatus.DONE, JobStatus.FAILED]).values_list("pk", flat=True):
            ended[pk] = time.monotonic()
        time.sleep(0.1)
    return ended


def bench_triage_pipeline(*, tickets: int, progress: Callable[[str], None]) -> dict:
    from config.celery import app
    from core.jobs import JobStatus
    from eshop.models import User
    from support.models import Ticket
    from support.services.tickets import ticket_create
    from support.services.triage import TRIAGE_DEBOUNCE_SECONDS

    workers: list[subprocess.Popen] = []
    customer, _ = User.objects.get_or_create(email=BENCH_CUSTOMER, defaults={"first_name": "Bench", "is_active": False})
    texts = _bench_texts(tickets * 2)
    quiet_mail = override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")  # no confirmations printed
    quiet_mail.enable()
    # A bench stopped with SIGTERM (a timeout) still cleans up: its workers and bench tickets.
    previous_handler = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if not any("llm" in str(queues) for queues in (app.control.inspect(timeout=1).active_queues() or {}).values()):
            progress("  no llm worker answers: starting the default setup (1 llm worker, 1 embed/default worker)")
            workers = _start_default_workers()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and len(app.control.ping(timeout=0.5) or []) < 2:
                pass
        # warm-up: the worker loads its models on the first task
        warm = ticket_create(customer=customer, body=texts[0])
        _wait_done([warm.pk], time.monotonic() + 300)

        one_at_a_time, failed = [], 0
        for i, text in enumerate(texts[:tickets], 1):
            started = time.monotonic()
            ticket = ticket_create(customer=customer, body=text)
            ended = _wait_done([ticket.pk], started + TIMEOUT_PER_TICKET)
            if ticket.pk not in ended or Ticket.objects.get(pk=ticket.pk).ai_status != JobStatus.DONE:
                failed += 1
                continue
            one_at_a_time.append(ended[ticket.pk] - started)
            progress(f"  triage {i}/{tickets}: {one_at_a_time[-1]:.1f} s from commit to done")

        started = time.monotonic()
        backlog = [ticket_create(customer=customer, body=text).pk for text in texts[tickets:]]
        ended = _wait_done(backlog, started + TIMEOUT_PER_TICKET * len(backlog))
        elapsed = (max(ended.values()) - started) if ended else float("nan")
        done = Ticket.objects.filter(pk__in=backlog, ai_status=JobStatus.DONE).count()
        figures = {
            "latency": latency(one_at_a_time),
            "debounce_s": TRIAGE_DEBOUNCE_SECONDS,
            "throughput_tickets_per_minute": round(done / elapsed * 60, 2) if ended else 0.0,
            "backlog_tickets": len(backlog), "backlog_done": done, "failed": failed,
            "model": settings.LLM_MODEL, "workers_started_by_bench": bool(workers),
        }
        progress(f"  triage pipeline: p50 {figures['latency']['p50_s']:.1f} s, p95 {figures['latency']['p95_s']:.1f} s per ticket "
                 f"(includes the {TRIAGE_DEBOUNCE_SECONDS} s debounce); throughput {figures['throughput_tickets_per_minute']:.1f} "
                 f"tickets/minute ({done} of {len(backlog)} in {elapsed:.0f} s, one llm worker, {settings.LLM_MODEL})")
        return figures
    finally:
        quiet_mail.disable()
        Ticket.objects.filter(customer=customer).delete()
        customer.delete()
        for process in workers:
            process.terminate()
        for process in workers:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        signal.signal(signal.SIGTERM, previous_handler)


CHAT_QUESTIONS = [
    "How long does the GloTech headlamp take to charge?",
    "Do you ship to Canada and how long does it take?",
    "My NightOps flashlight gets dimmer after a few minutes, is it broken?",
    "Can I return a tent I have already used on a trip?",
    "How often should I replace the cartridge of the AquaMax water filter?",
    "What payment methods do you accept?",
    "How do I clean the Arctic Dream sleeping bag?",
    "Does the SolarBoost power bank charge a laptop?",
]
