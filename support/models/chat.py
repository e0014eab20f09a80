"""Customer chat: conversations and their turns (question, streamed answer, sources, feedback)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.jobs import JobFields


class ConversationKind(models.TextChoices):
    CUSTOMER = "customer", "Customer chat"
    AGENT = "agent", "Agent assistant on a ticket"


class Conversation(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="conversations")
    session_key = models.CharField(max_length=40, blank=True, db_index=True, help_text="Owner when anonymous.")
    ticket = models.ForeignKey("support.Ticket", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="conversations", help_text="Set on hand-off to a human.")
    # An agent's assistant conversation is about `about_ticket`; it never looks up orders (the
    # agent's own orders mean nothing there, and the ticket page shows the customer's).
    kind = models.CharField(max_length=8, choices=ConversationKind.choices, default=ConversationKind.CUSTOMER)
    about_ticket = models.ForeignKey("support.Ticket", on_delete=models.CASCADE, null=True, blank=True,
                                     related_name="assistant_conversations")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.public_id)


class ChatTurn(JobFields):
    """A question and its answer; its job fields (core.jobs) are the answering's: running while it streams."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="turns")
    question = models.TextField()
    product = models.ForeignKey("eshop.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                help_text="The product page the customer asked from, if any.")
    answer = models.TextField(blank=True)
    # [{"n": 1, "chunk_id": 5, "document": "...", "heading": "...", "page": 3, "url": "...", "score": 0.8}]
    sources = models.JSONField(default=list, blank=True)
    abstained = models.BooleanField(default=False, help_text="The sources did not support an answer.")
    removed_citations = models.PositiveSmallIntegerField(default=0)
    answer_judged = models.FloatField(
        null=True, blank=True,
        help_text="The model's probability, asked after writing, that the checked answer answers the question "
                  "(customers' answers only); under llm.services.answer.JUDGE_MIN the answer became the abstention.")
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True, help_text="Prompt tokens the answer was written from.")
    seconds_to_sources = models.FloatField(null=True, blank=True)
    seconds_to_first_token = models.FloatField(null=True, blank=True)
    seconds_total = models.FloatField(null=True, blank=True)
    rating = models.SmallIntegerField(null=True, blank=True, choices=[(1, "Thumbs up"), (-1, "Thumbs down")])
    rated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # When the current attempt was queued, and when its worker last showed life (sources, tokens):
    # a turn whose worker died is found by these and marked failed, so the customer can retry.
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_event_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.conversation} · {self.created_at:%Y-%m-%d %H:%M}"
