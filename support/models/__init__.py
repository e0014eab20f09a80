"""Support models, one module per area: categories, tickets, knowledge base, chat, analytics."""

from support.models.analytics import DataQuestion
from support.models.categories import TicketCategory
from support.models.chat import ChatTurn, Conversation
from support.models.knowledge import KnowledgeChunk, KnowledgeDocument
from support.models.tickets import Message, Ticket, TicketCorrection

__all__ = [
    "ChatTurn",
    "DataQuestion",
    "Conversation",
    "KnowledgeChunk",
    "KnowledgeDocument",
    "Message",
    "Ticket",
    "TicketCategory",
    "TicketCorrection",
]
