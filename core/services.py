from django.db.models import F
from django.utils import timezone

from core.models import QueueHeartbeat


def queue_heartbeat_record(*, queue: str, worker: str) -> QueueHeartbeat:
    """Upsert the heartbeat row of a queue (idempotent apart from the counter)."""
    heartbeat, created = QueueHeartbeat.objects.get_or_create(
        queue=queue, defaults={"worker": worker, "seen_at": timezone.now(), "beats": 1}
    )
    if not created:
        QueueHeartbeat.objects.filter(pk=heartbeat.pk).update(worker=worker, seen_at=timezone.now(), beats=F("beats") + 1)
        heartbeat.refresh_from_db()
    return heartbeat
