from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from support.models import DataQuestion


@admin.register(DataQuestion)
class DataQuestionAdmin(admin.ModelAdmin):
    """The ask-the-data log: every question, who asked, the SQL, the outcome and its durations (read-only)."""

    list_display = ["short_question", "asked_by", "status", "row_count", "seconds_generate", "seconds_query", "created_at", "answer_link"]
    list_filter = ["status", "model_name", "created_at"]
    list_select_related = ["asked_by"]
    search_fields = ["question", "sql", "error", "asked_by__email"]
    date_hierarchy = "created_at"
    readonly_fields = ["asked_by", "question", "status", "sql", "executed_sql", "error", "row_count", "truncated", "model_name",
                       "seconds_generate", "seconds_query", "seconds_total", "attempts", "created_at", "started_at", "finished_at", "columns"]
    exclude = ["rows"]

    @admin.display(description="question", ordering="question")
    def short_question(self, obj):
        return obj.question[:100]

    @admin.display(description="answer")
    def answer_link(self, obj):
        return format_html('<a href="{}">open</a>', reverse("analytics:question", args=[obj.pk]))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
