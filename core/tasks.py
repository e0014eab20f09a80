from celery import shared_task
from django.core.management import call_command

from core.services import queue_heartbeat_record


@shared_task(bind=True, acks_late=True, soft_time_limit=10, time_limit=20)
def queue_heartbeat(self, queue: str) -> str:
    """Record that a worker consuming `queue` is alive (beat sends one per queue).

    Proves the whole path: sender → Redis → worker → PostgreSQL. Idempotent: an upsert.
    """
    worker = self.request.hostname or "unknown"
    queue_heartbeat_record(queue=queue, worker=worker)
    return worker


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def sessions_clear_expired() -> None:
    """Delete expired sessions (Django's `clearsessions`; beat runs it hourly). Idempotent."""
    call_command("clearsessions")
