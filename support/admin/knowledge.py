from django.contrib import admin, messages
from django.utils.html import format_html

from core.jobs import JobStatus
from support.models import KnowledgeChunk, KnowledgeDocument
from support.services.knowledge import document_changed, document_reindex_request


class KnowledgeChunkInline(admin.TabularInline):
    model = KnowledgeChunk
    fields = ["position", "page", "heading", "text"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(KnowledgeDocument)
class KnowledgeDocumentAdmin(admin.ModelAdmin):
    """Articles and manuals. Upload through the staff API or edit the text here; saving a changed
    document re-indexes it on the embed queue, and the list shows the progress."""

    list_display = ["title", "kind", "product", "is_published", "index_progress", "indexed_at", "updated_at"]
    list_filter = ["kind", "status", "is_published"]
    search_fields = ["title", "body", "product__model", "product__brand"]
    autocomplete_fields = ["product"]
    readonly_fields = ["format", "status", "attempts", "chunks_total", "chunks_done", "error", "started_at", "finished_at", "indexed_at",
                       "content_hash", "indexed_hash", "uploaded_by", "created_at", "updated_at"]
    prepopulated_fields = {"slug": ("title",)}
    actions = ["reindex"]
    inlines = [KnowledgeChunkInline]

    @admin.display(description="Index")
    def index_progress(self, obj):
        if obj.status == JobStatus.RUNNING:
            return f"Indexing {obj.chunks_done}/{obj.chunks_total}"
        if obj.status == JobStatus.FAILED:
            return format_html('<span title="{}">Failed</span>', obj.error)
        if obj.status == JobStatus.DONE:
            return f"Indexed ({obj.chunks_total} chunks)"
        return obj.get_status_display()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        document_changed(document=obj)

    @admin.action(description="Re-index the selected documents")
    def reindex(self, request, queryset):
        for document in queryset:
            document_reindex_request(document, force=True)
        self.message_user(request, f"{queryset.count()} document(s) queued for indexing.", messages.SUCCESS)
