"""Tickets, their messages, and the record of every agent correction of an AI field."""

from django.conf import settings
from django.db import models
from django.db.models import Func, Value
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField

from core.jobs import job_fields
from llm.labels import SENTIMENT_LEVELS, URGENCY_LEVELS


class TicketStatus(models.TextChoices):
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"  # waiting for the customer
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


class TicketOrigin(models.TextChoices):
    FORM = "form", "Contact form"
    CHAT = "chat", "Chat hand-off"
    API = "api", "API"
    DEMO = "demo", "Demo data"
    IMPORT = "import", "Imported history"


# Values are the triage labels ("very_negative", "urgent"); (name, (value, label)) in the functional API.
Sentiment = models.TextChoices("Sentiment", [(level.upper(), (level, level.replace("_", " ").capitalize())) for level in SENTIMENT_LEVELS])
Urgency = models.TextChoices("Urgency", [(level.upper(), (level, level.capitalize())) for level in URGENCY_LEVELS])

# Fields the AI fills and an agent may correct; a field an agent set is never overwritten by AI.
AI_FIELDS = ("title", "summary", "category", "sentiment", "urgency", "product", "order", "language")


class Ticket(job_fields("ai_")):
    # The AI triage's job fields (core.jobs) carry the ai_ prefix: a ticket's own `status` is its
    # open/closed workflow. ai_finished_at is set when a triage succeeds.
    # Public number (shown as #1001): from a database sequence, so it is known at insert time.
    number = models.BigIntegerField(unique=True, editable=False,
                                    db_default=Func(Value("support_ticket_number_seq"), function="nextval"))
    customer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tickets")
    origin = models.CharField(max_length=8, choices=TicketOrigin.choices, default=TicketOrigin.FORM)
    demo_ref = models.CharField(max_length=20, null=True, blank=True, unique=True, editable=False,
                                help_text="Reference of a demo ticket (support/demo_data/demo_tickets.json).")
    subject = models.CharField(max_length=200, blank=True, help_text="What the customer typed as the subject.")
    title = models.CharField(max_length=200, blank=True, help_text="AI title (at most 8 words), or the agent's.")
    summary = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=TicketStatus.choices, default=TicketStatus.OPEN, db_index=True)

    category = models.ForeignKey("support.TicketCategory", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="tickets")
    category_confidence = models.FloatField(null=True, blank=True)
    category_method = models.CharField(max_length=20, blank=True, help_text="slm, head, head+slm (+examples when similar labelled tickets were shown), agent or import.")
    sentiment = models.CharField(max_length=14, choices=Sentiment.choices, blank=True)
    sentiment_score = models.FloatField(null=True, blank=True, help_text="-1 (very negative) .. 1 (very positive).")
    urgency = models.CharField(max_length=8, choices=Urgency.choices, blank=True)
    urgency_reason = models.CharField(max_length=300, blank=True)
    product = models.ForeignKey("eshop.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets")
    order = models.ForeignKey("eshop.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets")
    language = models.CharField(max_length=8, blank=True)
    # Names from AI_FIELDS that an agent set (by correcting the AI or on creation): AI runs skip them.
    agent_fields = models.JSONField(default=list, blank=True)

    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="assigned_tickets")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_activity_at = models.DateTimeField(default=timezone.now, db_index=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    # More AI triage bookkeeping (durable pipeline: support.services.triage).
    ai_requested_at = models.DateTimeField(null=True, blank=True, help_text="When triage was last asked for.")
    ai_input_hash = models.CharField(max_length=64, blank=True, help_text="Hash of the thread the AI fields describe.")
    ai_seconds = models.FloatField(null=True, blank=True, help_text="Duration of the last triage run.")

    embedding = VectorField(dimensions=settings.EMBEDDING_DIMENSIONS, null=True, blank=True, editable=False)
    embedding_hash = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-last_activity_at"], name="ticket_status_activity"),
            HnswIndex(name="ticket_embedding_hnsw", fields=["embedding"], m=16, ef_construction=64,
                      opclasses=["vector_cosine_ops"]),
        ]

    def __str__(self) -> str:
        return f"#{self.number}"

    @property
    def display_title(self) -> str:
        return self.title or self.subject or f"Ticket #{self.number}"

    def is_agent_set(self, field: str) -> bool:
        return field in self.agent_fields


class MessageAuthor(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    AGENT = "agent", "Agent"
    SYSTEM = "system", "System"


class Message(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author_kind = models.CharField(max_length=10, choices=MessageAuthor.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="support_messages")
    body = models.TextField()
    is_internal = models.BooleanField(default=False, help_text="An agents-only note; never shown to the customer.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket} · {self.author_kind} · {self.created_at:%Y-%m-%d %H:%M}"


class TicketCorrection(models.Model):
    """An agent changed an AI field: labelled data for the classifiers and the AI-accuracy chart."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="corrections")
    field = models.CharField(max_length=20)
    from_value = models.CharField(max_length=300, blank=True, help_text="What the AI had set.")
    to_value = models.CharField(max_length=300, blank=True)
    ai_method = models.CharField(max_length=20, blank=True, help_text="Category: the triage method that had set from_value.")
    corrected_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                     related_name="ticket_corrections")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["field", "created_at"], name="correction_field_time")]

    def __str__(self) -> str:
        return f"{self.ticket} {self.field}: {self.from_value} → {self.to_value}"
