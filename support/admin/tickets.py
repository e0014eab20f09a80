from django.contrib import admin, messages
from django.utils.html import format_html

from llm.models import ClassifierHead
from support.models import Message, Ticket, TicketCorrection
from support.services.triage import ticket_triage_request


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ["created_at", "author_kind", "author", "is_internal", "body"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


def newest_head_summary() -> list[str]:
    """One line per task: the classifier head triage uses now and its holdout accuracy."""
    lines = []
    for task, label in ClassifierHead.Task.choices:
        head = ClassifierHead.objects.filter(task=task).order_by("-version").first()
        if head is None:
            lines.append(f"{label} head: none trained yet (run `manage.py train_classifiers`).")
        else:
            accuracy = f"{head.holdout_accuracy:.0%}" if head.holdout_accuracy is not None else "n/a"
            lines.append(f"{label} head v{head.version}: holdout accuracy {accuracy} on {head.holdout_size} tickets "
                         f"(trained on {head.train_size}, {head.created_at:%Y-%m-%d %H:%M}).")
    from support.selectors import category_method_accuracy

    for row in category_method_accuracy():
        lines.append(f"Category by {row['method']}: {row['decided']} tickets, {row['corrected']} corrected by agents "
                     f"({row['accuracy']:.0%} left standing).")
    corrections = TicketCorrection.objects.filter(field__in=["category", "sentiment"]).count()
    lines.append(f"Agent corrections of category/sentiment so far: {corrections} (they join the training data).")
    return lines


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["number", "display_title", "customer", "status", "category", "category_method", "category_confidence",
                    "urgency", "sentiment", "ai_status",
                    "ai_attempts", "ai_error_start", "last_activity_at"]
    list_filter = ["status", "ai_status", "category", "category_method", "urgency", "sentiment", "origin"]
    search_fields = ["=number", "subject", "title", "summary", "customer__email"]
    list_select_related = ["customer", "category"]
    readonly_fields = ["number", "customer", "origin", "demo_ref", "agent_fields", "ai_status", "ai_attempts", "ai_error",
                       "ai_requested_at", "ai_started_at", "ai_finished_at", "ai_input_hash", "ai_seconds", "created_at",
                       "last_activity_at", "first_response_at", "resolved_at", "category_confidence", "category_method"]
    raw_id_fields = ["product", "order", "assignee"]
    inlines = [MessageInline]
    actions = ["retriage"]
    date_hierarchy = "created_at"

    @admin.display(description="AI error")
    def ai_error_start(self, ticket):
        return format_html('<span style="color:#a32b20">{}</span>', ticket.ai_error[:80]) if ticket.ai_error else ""

    @admin.action(description="Re-run triage (agent corrections are kept)")
    def retriage(self, request, queryset):
        for ticket in queryset:
            ticket_triage_request(ticket, force=True)
        self.message_user(request, f"Triage requested for {queryset.count()} tickets.", messages.SUCCESS)

    def changelist_view(self, request, extra_context=None):
        for line in newest_head_summary():
            self.message_user(request, line, messages.INFO)
        return super().changelist_view(request, extra_context)


@admin.register(TicketCorrection)
class TicketCorrectionAdmin(admin.ModelAdmin):
    list_display = ["ticket", "field", "from_value", "ai_method", "to_value", "corrected_by", "created_at"]
    list_filter = ["field"]
    list_select_related = ["ticket", "corrected_by"]
    readonly_fields = ["ticket", "field", "from_value", "ai_method", "to_value", "corrected_by", "created_at"]

    def has_add_permission(self, request):
        return False

    def changelist_view(self, request, extra_context=None):
        for line in newest_head_summary():
            self.message_user(request, line, messages.INFO)
        return super().changelist_view(request, extra_context)
