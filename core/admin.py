from django.contrib import admin

from core.models import QueueHeartbeat


@admin.register(QueueHeartbeat)
class QueueHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["queue", "worker", "seen_at", "beats"]
    readonly_fields = ["queue", "worker", "seen_at", "beats"]
