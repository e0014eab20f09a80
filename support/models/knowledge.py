"""The knowledge base: policy articles and product manuals, split into searchable chunks."""

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField

from core.jobs import JobFields


class DocumentKind(models.TextChoices):
    POLICY = "policy", "Policy / FAQ article"
    MANUAL = "manual", "Product manual"


class DocumentFormat(models.TextChoices):
    MARKDOWN = "markdown", "Markdown"
    PDF = "pdf", "PDF"
    HTML = "html", "HTML"
    TEXT = "text", "Plain text"


class KnowledgeDocument(JobFields):
    """A policy article or manual; its job fields (core.jobs) are its indexing's: done when the chunks match."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    kind = models.CharField(max_length=8, choices=DocumentKind.choices)
    product = models.ForeignKey("eshop.Product", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="manuals")
    format = models.CharField(max_length=10, choices=DocumentFormat.choices, default=DocumentFormat.MARKDOWN)
    file = models.FileField(upload_to="knowledge/", blank=True, help_text="The uploaded original, if any.")
    # Extracted text; for a PDF, pages are marked "<!-- page: N -->" so chunks know their page.
    body = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64, blank=True, editable=False)
    is_published = models.BooleanField(default=True)

    indexed_hash = models.CharField(max_length=64, blank=True, editable=False,
                                    help_text="content_hash the chunks were built from.")
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    indexed_at = models.DateTimeField(null=True, blank=True)

    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "title"]

    def __str__(self) -> str:
        return self.title


class KnowledgeChunk(models.Model):
    document = models.ForeignKey(KnowledgeDocument, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()
    heading = models.CharField(max_length=300, blank=True)
    page = models.PositiveIntegerField(null=True, blank=True)
    text = models.TextField()
    product = models.ForeignKey("eshop.Product", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    content_hash = models.CharField(max_length=64)
    embedding = VectorField(dimensions=settings.EMBEDDING_DIMENSIONS, null=True, blank=True)
    search_vector = SearchVectorField(null=True, blank=True)

    class Meta:
        ordering = ["document", "position"]
        constraints = [models.UniqueConstraint(fields=["document", "position"], name="chunk_document_position")]
        indexes = [
            HnswIndex(name="chunk_embedding_hnsw", fields=["embedding"], m=16, ef_construction=64,
                      opclasses=["vector_cosine_ops"]),
            # The general articles alone, for "this product's manual and the general articles":
            # pgvector 0.6 filters after the index scan, which a product filter would starve.
            HnswIndex(name="chunk_general_embedding_hnsw", fields=["embedding"], m=16, ef_construction=64,
                      opclasses=["vector_cosine_ops"], condition=Q(product__isnull=True)),
            GinIndex(fields=["search_vector"], name="chunk_search_vector_gin"),
        ]

    def __str__(self) -> str:
        return f"{self.document} §{self.position}"
