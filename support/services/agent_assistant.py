"""The agent's assistant on a ticket: the customer's latest words asked of the knowledge base, as a
chat turn in the agent's own conversation (answered and streamed like a customer's)."""

from __future__ import annotations

from support.models import ChatTurn, Conversation
from support.models.chat import ConversationKind
from support.models.tickets import MessageAuthor
from support.services.chat import ChatError, chat_turn_create


def agent_assistant_ask(*, ticket, agent, action: str) -> ChatTurn:
    """The agent's assistant on a ticket: the customer's latest words asked of the knowledge base.

    A turn in the agent's own assistant conversation about the ticket (kind agent: no order look-up),
    answered and streamed like a customer's; the page shows it as manual excerpts ("manual") or a
    reply draft ("draft"). Raises ChatError when the ticket has no customer message.
    """
    if action not in ("manual", "draft"):
        raise ChatError("Unknown assistant action.")
    messages = list(ticket.messages.filter(author_kind=MessageAuthor.CUSTOMER, is_internal=False)
                    .order_by("-created_at", "-id").values_list("body", flat=True)[:2])
    if not messages:
        raise ChatError("The ticket has no message from the customer to look up.")
    question = "\n\n".join(reversed(messages))
    if ticket.subject and ticket.subject not in question:
        question = f"{ticket.subject}\n{question}"
    conversation, _ = Conversation.objects.get_or_create(kind=ConversationKind.AGENT, user=agent, about_ticket=ticket)
    return chat_turn_create(conversation=conversation, question=question[-2_000:], product=ticket.product)
