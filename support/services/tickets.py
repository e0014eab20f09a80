"""Writing tickets and their messages. Every path that creates a ticket goes through here."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from support.models import Message, Ticket
from support.models.tickets import MessageAuthor, TicketOrigin

MESSAGE_MAX_CHARS = 10_000


def message_body_clean(body: str) -> str:
    """The text as stored: control characters (but newlines and tabs) removed, trimmed, length-checked.

    HTML is kept as typed (it is escaped on display, never rendered).
    """
    if not isinstance(body, str):
        raise ValidationError("The message must be text.")
    body = "".join(ch for ch in body if ch in "\n\t" or (ord(ch) >= 32 and ord(ch) != 127)).strip()
    if not body:
        raise ValidationError("Please write a message.")
    if len(body) > MESSAGE_MAX_CHARS:
        raise ValidationError(f"The message is too long ({len(body):,} characters; at most {MESSAGE_MAX_CHARS:,}).")
    return body


@transaction.atomic
def ticket_create(*, customer, body: str, subject: str = "", origin: str = TicketOrigin.FORM,
                  order=None, product=None) -> Ticket:
    """A ticket with the customer's first message. `order` must be the customer's own (checked here)."""
    body = message_body_clean(body)
    if order is not None and order.user_id != customer.pk:
        raise ValidationError("That order is not yours.")
    now = timezone.now()
    agent_fields = [name for name, value in (("order", order), ("product", product)) if value is not None]
    ticket = Ticket.objects.create(
        customer=customer, subject=subject.strip()[:200], origin=origin, order=order, product=product,
        agent_fields=agent_fields, created_at=now, last_activity_at=now,
    )
    Message.objects.create(ticket=ticket, author_kind=MessageAuthor.CUSTOMER, author=customer, body=body, created_at=now)
    return ticket
