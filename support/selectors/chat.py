"""Reading chat turns: history, ownership (their event stream: support/selectors/chat_events.py)."""

from __future__ import annotations

from django.db.models import QuerySet

from support.models import ChatTurn, Conversation


def chat_turn_get_own(*, turn_id, user, session_key: str) -> ChatTurn | None:
    """The turn if the requester owns its conversation (user, or session when anonymous); else None."""
    try:
        turn_id = int(turn_id)
    except (TypeError, ValueError):
        return None
    turns = ChatTurn.objects.select_related("conversation")
    if user is not None and user.is_authenticated:
        return turns.filter(pk=turn_id, conversation__user=user).first()
    if not session_key:
        return None
    return turns.filter(pk=turn_id, conversation__user__isnull=True, conversation__session_key=session_key).first()


def conversation_turns(*, conversation: Conversation) -> QuerySet[ChatTurn]:
    return conversation.turns.order_by("created_at", "id")


def conversation_list_own(*, user, session_key: str) -> QuerySet[Conversation]:
    if user is not None and user.is_authenticated:
        return Conversation.objects.filter(user=user).select_related("ticket").order_by("-updated_at")
    return Conversation.objects.filter(user__isnull=True, session_key=session_key or "-").select_related("ticket").order_by("-updated_at")
