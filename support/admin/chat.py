from django.contrib import admin

from support.models import ChatTurn, Conversation


class ChatTurnInline(admin.StackedInline):
    model = ChatTurn
    fields = ["question", "answer", "status", "abstained", "answer_judged", "prompt_tokens", "sources", "rating",
              "seconds_to_sources", "seconds_to_first_token", "seconds_total", "attempts", "error", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["public_id", "user", "ticket", "created_at", "updated_at"]
    list_select_related = ["user", "ticket"]
    search_fields = ["user__email", "turns__question"]
    readonly_fields = ["public_id", "user", "session_key", "ticket", "created_at"]
    inlines = [ChatTurnInline]


@admin.register(ChatTurn)
class ChatTurnAdmin(admin.ModelAdmin):
    list_display = ["created_at", "conversation", "status", "abstained", "answer_judged", "rating", "seconds_to_first_token",
                    "seconds_total"]
    list_filter = ["status", "abstained", "rating"]
    list_select_related = ["conversation"]
    search_fields = ["question", "answer"]
    readonly_fields = [f.name for f in ChatTurn._meta.fields]

    def has_add_permission(self, request):
        return False
