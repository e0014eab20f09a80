"""Writing tickets and their messages. Every path that creates a ticket or a message goes through here.

Every write that changes what the customer said asks for triage (support.services.triage) on
commit; e-mails go out on commit too, and a mail server that fails never loses the write.
"""

import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from llm.services.common import control_characters_strip
from llm.labels import sentiment_level_score
from support.models import Message, Ticket, TicketCategory, TicketCorrection
from support.models.tickets import AI_FIELDS, MessageAuthor, Sentiment, TicketOrigin, TicketStatus, Urgency

logger = logging.getLogger(__name__)

MESSAGE_MAX_CHARS = 10_000
SUBJECT_MAX_CHARS = 200
# Fields an agent may correct, and the fields that carry the AI's confidence in them.
CORRECTABLE_FIELDS = ("category", "sentiment", "urgency", "product", "order", "title", "summary", "language")


def message_body_clean(body: str) -> str:
    """The text as stored: control characters (but newlines and tabs) removed, trimmed, length-checked.

    HTML is kept as typed (it is escaped on display, never rendered).
    """
    if not isinstance(body, str):
        raise ValidationError("The message must be text.")
    body = control_characters_strip(body)
    if not body:
        raise ValidationError("Please write a message.")
    if len(body) > MESSAGE_MAX_CHARS:
        raise ValidationError(f"The message is too long ({len(body):,} characters; at most {MESSAGE_MAX_CHARS:,}).")
    return body


def _subject_clean(subject) -> str:
    if not isinstance(subject, str):
        raise ValidationError("The subject must be text.")
    subject = control_characters_strip(subject, multiline=False)
    if len(subject) > SUBJECT_MAX_CHARS:
        raise ValidationError(f"The subject is too long (at most {SUBJECT_MAX_CHARS} characters).")
    return subject


def _notify(*, to: str, subject: str, body: str) -> None:
    """Send an e-mail after commit; a failing mail server is logged, never raised."""
    def send():
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
        except Exception as exc:  # noqa: BLE001
            logger.warning("E-mail to %s not sent: %s", to, exc)
    if to:
        transaction.on_commit(send)


def _customer_link(ticket: Ticket) -> str:
    return reverse("support:ticket-detail", kwargs={"number": ticket.number})


@transaction.atomic
def ticket_create(*, customer, body: str, subject: str = "", origin: str = TicketOrigin.FORM,
                  order=None, product=None) -> Ticket:
    """A ticket with the customer's first message; triage is requested on commit and the customer
    gets a confirmation e-mail. `order` must be the customer's own (checked here)."""
    from support.services.triage import ticket_triage_request

    body = message_body_clean(body)
    subject = _subject_clean(subject)
    if order is not None and order.user_id != customer.pk:
        raise ValidationError("That order is not yours.")
    now = timezone.now()
    agent_fields = [name for name, value in (("order", order), ("product", product)) if value is not None]
    ticket = Ticket.objects.create(
        customer=customer, subject=subject, origin=origin, order=order, product=product,
        agent_fields=agent_fields, created_at=now, last_activity_at=now,
    )
    Message.objects.create(ticket=ticket, author_kind=MessageAuthor.CUSTOMER, author=customer, body=body, created_at=now)
    ticket_triage_request(ticket)
    _notify(to=customer.email, subject=f"We received your request #{ticket.number}",
            body=f"Thanks for contacting us. Your request #{ticket.number} is with our support team; we will reply "
                 f"by e-mail and on {_customer_link(ticket)}.\n\nYour message:\n{body}")
    return ticket


@transaction.atomic
def ticket_customer_reply(*, ticket: Ticket, customer, body: str) -> Message:
    """The customer writes again: the ticket reopens (unless closed, then it is an error) and is re-triaged."""
    from support.services.triage import ticket_triage_request

    body = message_body_clean(body)
    if ticket.customer_id != customer.pk:
        raise ValidationError("That request is not yours.")
    if ticket.status == TicketStatus.CLOSED:
        raise ValidationError("This request is closed. Please open a new one.")
    now = timezone.now()
    message = Message.objects.create(ticket=ticket, author_kind=MessageAuthor.CUSTOMER, author=customer, body=body,
                                     created_at=now)
    ticket.status, ticket.last_activity_at, ticket.resolved_at = TicketStatus.OPEN, now, None
    ticket.save(update_fields=["status", "last_activity_at", "resolved_at", "updated_at"])
    ticket_triage_request(ticket)
    if ticket.assignee_id:
        _notify(to=ticket.assignee.email, subject=f"Customer replied on #{ticket.number}",
                body=f"{customer.email} wrote on #{ticket.number}:\n\n{body}")
    return message


@transaction.atomic
def ticket_close_by_customer(*, ticket: Ticket, customer) -> Ticket:
    """The customer closes their own request (no more replies; they can open a new one)."""
    if ticket.customer_id != customer.pk:
        raise ValidationError("That request is not yours.")
    if ticket.status != TicketStatus.CLOSED:
        now = timezone.now()
        ticket.status, ticket.last_activity_at = TicketStatus.CLOSED, now
        ticket.resolved_at = ticket.resolved_at or now
        ticket.save(update_fields=["status", "last_activity_at", "resolved_at", "updated_at"])
        Message.objects.create(ticket=ticket, author_kind=MessageAuthor.SYSTEM, body="The customer closed this request.")
    return ticket


def _check_agent(user) -> None:
    if user is None or not user.is_support_agent:
        raise ValidationError("Only support agents can do this.")


@transaction.atomic
def ticket_agent_reply(*, ticket: Ticket, agent, body: str, internal: bool = False) -> Message:
    """An agent's reply (e-mailed to the customer; the ticket then waits for the customer) or an
    internal note (agents only; changes nothing else)."""
    _check_agent(agent)
    body = message_body_clean(body)
    now = timezone.now()
    message = Message.objects.create(ticket=ticket, author_kind=MessageAuthor.AGENT, author=agent, body=body,
                                     is_internal=internal, created_at=now)
    if internal:
        return message
    fields = ["last_activity_at", "updated_at"]
    ticket.last_activity_at = now
    if ticket.first_response_at is None:
        ticket.first_response_at = now
        fields.append("first_response_at")
    if ticket.status == TicketStatus.OPEN:
        ticket.status = TicketStatus.PENDING
        fields.append("status")
    if ticket.assignee_id is None:
        ticket.assignee = agent
        fields.append("assignee")
    ticket.save(update_fields=fields)
    from support.services.triage import AGENT_REPLY_DEBOUNCE_SECONDS, ticket_triage_request

    # The summary's status and next step change with the reply: refresh them, debounced (a few quick
    # replies give one run; the content hash makes a run over an unchanged thread a no-op).
    ticket_triage_request(ticket, countdown=AGENT_REPLY_DEBOUNCE_SECONDS)
    _notify(to=ticket.customer.email, subject=f"Re: your request #{ticket.number}",
            body=f"{body}\n\n--\nReply or close the request at {_customer_link(ticket)}")
    return message


@transaction.atomic
def ticket_status_change(*, ticket: Ticket, agent, status: str) -> Ticket:
    """Set the status; resolving stamps resolved_at and tells the customer."""
    _check_agent(agent)
    if status not in TicketStatus.values:
        raise ValidationError(f"Unknown status {status!r}.")
    if status == ticket.status:
        return ticket
    now = timezone.now()
    ticket.status, ticket.last_activity_at = status, now
    ticket.resolved_at = now if status in (TicketStatus.RESOLVED, TicketStatus.CLOSED) else None
    ticket.save(update_fields=["status", "resolved_at", "last_activity_at", "updated_at"])
    Message.objects.create(ticket=ticket, author_kind=MessageAuthor.SYSTEM, author=agent, is_internal=True,
                           body=f"{agent.email} set the status to {ticket.get_status_display()}.")
    if status == TicketStatus.RESOLVED:
        _notify(to=ticket.customer.email, subject=f"Your request #{ticket.number} is resolved",
                body=f"We marked your request #{ticket.number} as resolved. If anything is still open, just reply at "
                     f"{_customer_link(ticket)}.")
    return ticket


@transaction.atomic
def ticket_assign(*, ticket: Ticket, agent, assignee) -> Ticket:
    """Assign to a support agent, or unassign with None."""
    _check_agent(agent)
    if assignee is not None and not assignee.is_support_agent:
        raise ValidationError("Tickets can only be assigned to support agents.")
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    return ticket


def _display(value) -> str:
    if value is None:
        return ""
    if isinstance(value, TicketCategory):
        return value.slug
    return str(getattr(value, "number", None) or getattr(value, "slug", None) or value)[:300]


def _correct_value(ticket: Ticket, field: str, value):
    """The value to store for `field` from what the agent sent (a slug, a level, an id or text)."""
    from eshop.models import Order, Product

    if field == "category":
        category = value if isinstance(value, TicketCategory) else TicketCategory.objects.filter(slug=value).first()
        if category is None:
            raise ValidationError("Unknown category.")
        return category
    if field == "sentiment":
        if value not in Sentiment.values:
            raise ValidationError(f"Sentiment must be one of {', '.join(Sentiment.values)}.")
        return value
    if field == "urgency":
        if value not in Urgency.values:
            raise ValidationError(f"Urgency must be one of {', '.join(Urgency.values)}.")
        return value
    if field == "product":
        if value in (None, ""):
            return None
        product = value if isinstance(value, Product) else Product.objects.filter(pk=value).first() if str(value).isdigit() else None
        if product is None:
            raise ValidationError("Unknown product.")
        return product
    if field == "order":
        if value in (None, ""):
            return None
        order = value if isinstance(value, Order) else Order.objects.filter(number=str(value).strip().upper()).first()
        if order is None or order.user_id != ticket.customer_id:
            raise ValidationError("That order does not belong to this ticket's customer.")
        return order
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text.")
    value = control_characters_strip(value, multiline=False)
    limit = {"title": 200, "summary": 2000, "language": 8}[field]
    if not value or len(value) > limit:
        raise ValidationError(f"{field.capitalize()} must be 1 to {limit} characters.")
    return value


@transaction.atomic
def ticket_correct(*, ticket: Ticket, agent, field: str, value) -> TicketCorrection | None:
    """An agent corrects an AI field: the value is stored, the field joins `agent_fields` (no AI run
    overwrites it again) and a TicketCorrection records who changed what from what to what.
    Returns None when the value is unchanged (nothing recorded)."""
    _check_agent(agent)
    if field not in CORRECTABLE_FIELDS or field not in AI_FIELDS:
        raise ValidationError(f"{field!r} cannot be corrected.")
    new = _correct_value(ticket, field, value)
    old = getattr(ticket, field)
    if _display(old) == _display(new) and ticket.is_agent_set(field):
        return None
    setattr(ticket, field, new)
    fields = [field, "agent_fields", "updated_at"]
    ai_method = ticket.category_method if field == "category" and not ticket.is_agent_set("category") else ""
    if field == "category":
        ticket.category_confidence, ticket.category_method = 1.0, "agent"
        fields += ["category_confidence", "category_method"]
    if field == "sentiment":
        ticket.sentiment_score = sentiment_level_score(new)
        fields.append("sentiment_score")
    if field == "urgency":
        ticket.urgency_reason = f"Set by {agent.email}"
        fields.append("urgency_reason")
    if field not in ticket.agent_fields:
        ticket.agent_fields = [*ticket.agent_fields, field]
    ticket.save(update_fields=fields)
    return TicketCorrection.objects.create(ticket=ticket, field=field, from_value=_display(old), to_value=_display(new),
                                           corrected_by=agent, ai_method=ai_method)
