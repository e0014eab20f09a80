"""A customer chat handed to a human: its transcript, and a ticket (origin chat) that holds it."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from core.jobs import JobStatus
from eshop.models import Product
from support.models import Conversation
from support.models.tickets import TicketOrigin
from support.services.chat import ChatError
from support.services.tickets import ticket_create

TRANSCRIPT_MAX_CHARS = 9_000


def chat_transcript(*, conversation: Conversation) -> str:
    """The conversation as "Customer:"/"Assistant:" lines, the latest TRANSCRIPT_MAX_CHARS of it."""
    lines = []
    for turn in conversation.turns.order_by("created_at", "id"):
        lines.append(f"Customer: {turn.question}")
        if turn.status == JobStatus.DONE:
            lines.append(f"Assistant: {turn.answer}")
        elif turn.status == JobStatus.FAILED:
            lines.append("Assistant: (no answer: the assistant failed)")
    text = "\n".join(lines)
    if len(text) > TRANSCRIPT_MAX_CHARS:  # keep the latest exchanges
        text = "…" + text[-TRANSCRIPT_MAX_CHARS:]
    return text


def chat_handoff(*, conversation: Conversation, user, note: str = ""):
    """Hand the conversation to a human: a ticket (origin chat) with the transcript; idempotent.

    Needs a signed-in customer who owns the conversation (raises PermissionDenied otherwise, with
    a message to sign in). A second call returns the same ticket.
    """
    if user is None or not user.is_authenticated:
        raise PermissionDenied("Please sign in so that our team can answer you and you can follow your request.")
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        if conversation.user_id is None and conversation.session_key:
            conversation.user = user  # signed in during the chat: the conversation becomes theirs
        if conversation.user_id != user.pk:
            raise PermissionDenied("That conversation is not yours.")
        if conversation.ticket_id:
            return conversation.ticket
        first = conversation.turns.order_by("created_at", "id").first()
        note = (note or "").strip()
        transcript = chat_transcript(conversation=conversation)
        body = "\n\n".join(part for part in (note, "Chat transcript:\n" + transcript if transcript else "") if part)
        if not body:
            raise ChatError("Tell us what you need help with first.")
        last_product = conversation.turns.exclude(product=None).order_by("-created_at").values_list("product", flat=True).first()
        ticket = ticket_create(
            customer=user, body=body[:10_000], origin=TicketOrigin.CHAT,
            subject=f"Chat: {first.question[:180]}" if first else "Chat with the assistant",
            product=Product.objects.filter(pk=last_product).first() if last_product else None,
        )
        conversation.ticket = ticket
        conversation.save(update_fields=["ticket", "user", "updated_at"])
    # Triage: the ticket is committed with ai_status pending; the support desk's pipeline picks it up.
    return ticket
