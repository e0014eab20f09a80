from django.db import models


class QueueHeartbeat(models.Model):
    """The last round trip web/beat → broker → worker → database, one row per queue."""

    queue = models.CharField(max_length=32, unique=True)
    worker = models.CharField(max_length=200)
    seen_at = models.DateTimeField()
    beats = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.queue} @ {self.worker}"
