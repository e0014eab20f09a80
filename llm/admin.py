from django.contrib import admin

from llm.models import TaskRun


@admin.register(TaskRun)
class TaskRunAdmin(admin.ModelAdmin):
    """Runs of SLM and embedding tasks, recorded by llm/task_runs.py (read-only)."""

    list_display = ["task_name", "queue", "status", "seconds", "started_at", "worker", "short_error"]
    list_filter = ["status", "queue", "task_name", "started_at"]
    search_fields = ["task_name", "task_id", "error"]
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in TaskRun._meta.fields]

    @admin.display(description="error")
    def short_error(self, obj):
        return obj.error[:120]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
