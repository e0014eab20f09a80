"""Health of the pieces the app needs: database, pgvector, Redis, a worker on every queue, and the
language-model backend (in-process, or an inference server that must answer)."""

from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from config.celery import Queue, app
from core.models import QueueHeartbeat
from llm.backend_status import backend_health


@dataclass
class HealthReport:
    checks: dict = field(default_factory=dict)

    @property
    def down(self) -> list[str]:
        return [name for name, check in self.checks.items() if not check["ok"]]

    @property
    def ok(self) -> bool:
        return not self.down


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any failure means "down", with its reason
        return {"ok": False, "error": _one_line(exc)}


def _check_pgvector() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": _one_line(exc)}
    if row is None:
        return {"ok": False, "error": "extension 'vector' is not installed in this database"}
    return {"ok": True, "version": row[0]}


def _check_redis() -> dict:
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        return {"ok": True}
    except redis.RedisError as exc:
        return {"ok": False, "error": _one_line(exc)}


def _check_workers(timeout: float) -> dict:
    """Which queues have a live consumer right now (asks the workers over the broker)."""
    try:
        replies = app.control.inspect(timeout=timeout).active_queues() or {}
    except Exception as exc:  # noqa: BLE001 - broker down: no answer is possible
        return {"ok": False, "error": _one_line(exc)}
    consumers: dict[str, list[str]] = {queue.value: [] for queue in Queue}
    for worker, queues in replies.items():
        for queue in queues:
            consumers.setdefault(queue["name"], []).append(worker)
    missing = [queue for queue, workers in consumers.items() if not workers]
    last_round_trips = {
        hb.queue: hb.seen_at.isoformat() for hb in QueueHeartbeat.objects.all()
    } if _check_database()["ok"] else {}
    result = {"ok": not missing, "queues": consumers, "last_round_trip": last_round_trips}
    if missing:
        result["error"] = "no worker consumes queue(s): " + ", ".join(missing)
    return result


WORKERS_CACHE_KEY = "health:workers"


def _check_workers_cached(timeout: float) -> dict:
    """The last round trip to the workers, asked again only when older than
    HEALTH_WORKERS_CACHE_SECONDS (a down answer: after a few seconds), so that frequent /healthz
    hits do not broadcast to every worker each time."""
    result = cache.get(WORKERS_CACHE_KEY)
    if result is None:
        result = _check_workers(timeout)
        seconds = settings.HEALTH_WORKERS_CACHE_SECONDS
        cache.set(WORKERS_CACHE_KEY, result, timeout=seconds if result["ok"] else min(seconds, 3))
    return result


def _check_query_encoder() -> dict:
    """Whether this web process has its search query encoder loaded (warmed at start, config/wsgi.py).
    Not loaded is still ok: search then loads it on the first query, slowly."""
    from llm.engine import embedder_loaded_seconds

    seconds = embedder_loaded_seconds()
    return {"ok": True, "warm": seconds is not None, "model": settings.EMBEDDING_MODEL, "load_seconds": seconds}


def health_report(*, worker_timeout: float = 1.0) -> HealthReport:
    report = HealthReport()
    report.checks["database"] = _check_database()
    report.checks["pgvector"] = _check_pgvector() if report.checks["database"]["ok"] else {"ok": False, "error": "database is down"}
    report.checks["redis"] = _check_redis()
    report.checks["workers"] = (_check_workers_cached(worker_timeout) if report.checks["redis"]["ok"]
                                else {"ok": False, "error": "broker is down"})
    report.checks["query_encoder"] = _check_query_encoder()
    report.checks["llm"] = backend_health()
    return report


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()
