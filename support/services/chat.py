"""The customer chat as the web side asks it: the requester's conversation, and a turn's question
committed, its sources and instant quote published at once, its answer queued on the "chat" queue;
a failed answer retried, a finished one rated.

What the llm worker then does is support/services/chat_answering.py; the events the answer streams
as, support/services/chat_events.py; failing turns whose worker is gone,
support/services/chat_liveness.py; what a turn is answered from, support/services/chat_sources.py;
the hand-off to a human, support/services/chat_handoff.py.
"""

from __future__ import annotations

import logging
import time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.jobs import JobStatus, enqueue
from support.models import ChatTurn, Conversation
from support.models.chat import ConversationKind
from support.services.chat_events import TurnEventPublisher, redis_client, turn_events_key
from support.services.chat_sources import chat_sources_for_turn, chat_turn_context, instant_quote
from support.services.tickets import message_body_clean
from support.tasks import llm_answer_chat_turn

logger = logging.getLogger(__name__)


class ChatError(ValidationError):
    """A chat request that cannot be taken; the message is for the customer."""


def conversation_for_request(*, user, session_key: str, public_id=None, session_conversation: str = "") -> Conversation:
    """The requester's conversation (`public_id` if given and theirs), else a new one.

    Owned by the signed-in user, or by the session when anonymous; another's id is an error that
    reveals nothing (as if it did not exist).
    """
    if public_id:
        conversation = conversation_get_own(user=user, session_key=session_key, public_id=public_id,
                                            session_conversation=session_conversation)
        if conversation is None:
            raise ChatError("That conversation does not exist.")
        return conversation
    if user is not None and user.is_authenticated:
        return Conversation.objects.create(user=user)
    return Conversation.objects.create(session_key=session_key)


def conversation_get_own(*, user, session_key: str, public_id, session_conversation: str = "") -> Conversation | None:
    """The customer conversation if the requester owns it, else None.

    Owned: by the signed-in user; by the session when anonymous; and an anonymous conversation the
    session itself started (`session_conversation`, kept in the session data, which survives sign-in
    while the session key changes) becomes the signed-in user's.
    """
    customer = Conversation.objects.filter(kind=ConversationKind.CUSTOMER)
    try:
        if user is not None and user.is_authenticated:
            conversation = customer.filter(public_id=public_id, user=user).first()
            if conversation is None and session_conversation and str(public_id) == session_conversation:
                conversation = customer.filter(public_id=public_id, user__isnull=True).first()
                if conversation is not None:
                    conversation.user = user
                    conversation.save(update_fields=["user", "updated_at"])
            return conversation
        if not session_key:
            return None
        return customer.filter(public_id=public_id, user__isnull=True, session_key=session_key).first()
    except ValidationError:  # not a UUID
        return None


def chat_turn_create(*, conversation: Conversation, question: str, product=None) -> ChatTurn:
    """Commit the question as a pending turn, then (on commit) find its sources and instant quote
    here and queue its answer on the chat queue (chat_turn_dispatch).

    The question is cleaned like a ticket message (control characters out, at most 10,000
    characters, not blank); raises ChatError with the reason otherwise.
    """
    try:
        question = message_body_clean(question)
    except ValidationError as exc:
        raise ChatError(exc.messages[0]) from None
    with transaction.atomic():
        turn = ChatTurn.objects.create(conversation=conversation, question=question, product=product,
                                       requested_at=timezone.now())
        Conversation.objects.filter(pk=conversation.pk).update(updated_at=timezone.now())
        transaction.on_commit(lambda: chat_turn_dispatch(turn_id=turn.pk))
    return turn


def chat_turn_dispatch(*, turn_id: int) -> None:
    """After commit: publish the turn's sources and instant quote (chat_turn_prepare), then queue the
    answer. A failed prepare is logged and left to the worker, which then finds the sources itself."""
    try:
        chat_turn_prepare(turn_id=turn_id)
    except Exception:  # noqa: BLE001 - the worker retrieves again; the customer only waits longer
        logger.exception("chat turn %s: sources not prepared in the web process", turn_id)
    enqueue(llm_answer_chat_turn, turn_id)  # broker down: stays pending, then failed (retryable) by the stale sweep


def chat_turn_prepare(*, turn_id: int) -> bool:
    """Retrieve a pending turn's sources and publish `sources` and `instant` (events 0 and 1 of the
    attempt the worker is about to make); store the sources and time to sources on the row.

    Runs in the web process (MiniLM query vector and two PostgreSQL queries, well under a second)
    so the customer sees sources and a quote at once, however long the llm queue is. Returns False
    (publishing nothing) when the turn is no longer pending.
    """
    turn = ChatTurn.objects.select_related("conversation__user").filter(pk=turn_id, status=JobStatus.PENDING).first()
    if turn is None:
        return False
    started = time.monotonic()
    context = chat_turn_context(turn=turn)
    sources, needs_sign_in = chat_sources_for_turn(turn=turn, context=context)
    cards = [source.card() for source in sources]
    queued_for = max(0.0, (timezone.now() - turn.requested_at).total_seconds())
    ChatTurn.objects.filter(pk=turn.pk, status=JobStatus.PENDING).update(
        sources=cards, seconds_to_sources=round(queued_for + time.monotonic() - started, 3))
    publish = TurnEventPublisher(turn.pk, turn.attempts + 1)
    publish("sources", sources=cards)
    quote = None if needs_sign_in else instant_quote(sources=sources, question=context.standalone)
    if quote:
        publish("instant", **quote, seconds=round(queued_for + time.monotonic() - started, 3))
    return True


def chat_turn_retry(*, turn: ChatTurn) -> ChatTurn:
    """Ask again for a failed turn's answer (a new attempt; the old events are dropped first, so
    the new attempt's sources and instant quote, published on commit, are kept)."""
    if turn.status != JobStatus.FAILED:
        raise ChatError("Only a failed answer can be retried.")
    redis_client().delete(turn_events_key(turn.pk))  # before the new run is queued: its first events must stay
    with transaction.atomic():
        ChatTurn.objects.filter(pk=turn.pk).update(
            status=JobStatus.PENDING, error="", answer="", sources=[], requested_at=timezone.now(), last_event_at=None,
            finished_at=None, seconds_to_sources=None, seconds_to_first_token=None, seconds_total=None)
        transaction.on_commit(lambda: chat_turn_dispatch(turn_id=turn.pk))
    turn.refresh_from_db()
    return turn


def chat_turn_rate(*, turn: ChatTurn, rating: int) -> ChatTurn:
    """Thumbs up (1) or down (-1) on an answered turn; a second vote replaces the first."""
    if rating not in (1, -1):
        raise ChatError("Rate an answer with 1 (helpful) or -1 (not helpful).")
    if turn.status != JobStatus.DONE:
        raise ChatError("Only a finished answer can be rated.")
    turn.rating, turn.rated_at = rating, timezone.now()
    turn.save(update_fields=["rating", "rated_at"])
    return turn
