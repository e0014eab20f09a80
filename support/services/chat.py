"""The customer chat: turns are committed, answered on the "chat" queue, streamed through Redis.

A turn's answer is a sequence of numbered events that are both appended to a Redis list and
published on the turn's channel in one MULTI, so a late subscriber (the SSE endpoint) replays the
list and then follows the channel without gaps or duplicates. The event kinds, in order:

    sources   {"sources": [card, ...]}        the numbered sources (first, always)
    instant   {"label", "quote", "n", "url"}  the best-matching sentence of the best passage, labelled
                                              as a quote from its source ("From the X manual, page 7")
    sentence  {"text": "... [1]."}           one answer sentence that passed every grounding check;
                                              what the customer sees is only ever these
    token     {"text"}                        (older workers) a raw piece of the answer; no longer sent
    done      {"answer", "abstained", "cited", "sign_in", "offer_human"}   the checked answer
    failed    {"error", "retryable"}

`sources` and `instant` are published by the web process right after the question is committed
(chat_turn_prepare: retrieval does not wait for the llm worker); the worker continues the numbering
of the same attempt, or publishes them itself when they are missing (a retry, a failed prepare).
The database row is the durable record: sources, answer, status, timings.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta

import redis
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.jobs import enqueue
from support.models import ChatTurn, Conversation
from support.models.chat import ConversationKind, TurnStatus
from support.services.chat_sources import (  # noqa: F401 - re-exported: callers import them from here
    CHAT_PASSAGES,
    ChatSource,
    chat_sources_for_turn,
    chat_turn_context,
    instant_quote,
    is_order_question,
    knowledge_brands,
    order_passages_for_user,
)
from support.services.tickets import message_body_clean

EVENTS_TTL_SECONDS = 3600
PARTIAL_SAVE_SECONDS = 1.0
SIGN_IN_FOR_ORDERS = ("I can look up your orders once you sign in: please sign in and ask again. "
                      "For anything else, just ask here.")
ANSWER_FAILED = "The assistant stopped before finishing its answer. Please try again."
TRANSCRIPT_MAX_CHARS = 9_000
logger = logging.getLogger(__name__)

_client: redis.Redis | None = None


def redis_client() -> redis.Redis:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3, socket_timeout=10,
                                       health_check_interval=30)
    return _client


def turn_channel(turn_id: int) -> str:
    return f"chat:turn:{turn_id}"


def turn_events_key(turn_id: int) -> str:
    return f"chat:turn:{turn_id}:events"


class ChatError(ValidationError):
    """A chat request that cannot be taken; the message is for the customer."""


# --- asking -------------------------------------------------------------------------------------

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
    from support.tasks import llm_answer_chat_turn

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
    turn = ChatTurn.objects.select_related("conversation__user").filter(pk=turn_id, status=TurnStatus.PENDING).first()
    if turn is None:
        return False
    started = time.monotonic()
    context = chat_turn_context(turn=turn)
    sources, needs_sign_in = chat_sources_for_turn(turn=turn, context=context)
    cards = [source.card() for source in sources]
    queued_for = max(0.0, (timezone.now() - turn.requested_at).total_seconds())
    ChatTurn.objects.filter(pk=turn.pk, status=TurnStatus.PENDING).update(
        sources=cards, seconds_to_sources=round(queued_for + time.monotonic() - started, 3))
    publish = _Publisher(turn.pk, turn.attempts + 1)
    publish("sources", sources=cards)
    quote = None if needs_sign_in else instant_quote(sources=sources, question=context.standalone)
    if quote:
        publish("instant", **quote, seconds=round(queued_for + time.monotonic() - started, 3))
    return True


def chat_turn_retry(*, turn: ChatTurn) -> ChatTurn:
    """Ask again for a failed turn's answer (a new attempt; the old events are dropped first, so
    the new attempt's sources and instant quote, published on commit, are kept)."""
    if turn.status != TurnStatus.FAILED:
        raise ChatError("Only a failed answer can be retried.")
    redis_client().delete(turn_events_key(turn.pk))  # before the new run is queued: its first events must stay
    with transaction.atomic():
        ChatTurn.objects.filter(pk=turn.pk).update(
            status=TurnStatus.PENDING, error="", answer="", sources=[], requested_at=timezone.now(), last_event_at=None,
            finished_at=None, seconds_to_sources=None, seconds_to_first_token=None, seconds_total=None)
        transaction.on_commit(lambda: chat_turn_dispatch(turn_id=turn.pk))
    turn.refresh_from_db()
    return turn


def chat_turn_rate(*, turn: ChatTurn, rating: int) -> ChatTurn:
    """Thumbs up (1) or down (-1) on an answered turn; a second vote replaces the first."""
    if rating not in (1, -1):
        raise ChatError("Rate an answer with 1 (helpful) or -1 (not helpful).")
    if turn.status != TurnStatus.DONE:
        raise ChatError("Only a finished answer can be rated.")
    turn.rating, turn.rated_at = rating, timezone.now()
    turn.save(update_fields=["rating", "rated_at"])
    return turn


def agent_assistant_ask(*, ticket, agent, action: str) -> ChatTurn:
    """The agent's assistant on a ticket: the customer's latest words asked of the knowledge base.

    A turn in the agent's own assistant conversation about the ticket (kind agent: no order look-up),
    answered and streamed like a customer's; the page shows it as manual excerpts ("manual") or a
    reply draft ("draft"). Raises ChatError when the ticket has no customer message.
    """
    from support.models.tickets import MessageAuthor

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


# --- answering (llm worker) ---------------------------------------------------------------------

class _Heartbeat:
    """While the worker answers, touch the turn's last_event_at every third of CHAT_STALL_SECONDS from a
    thread of the same process, so a long model load or prompt (no tokens yet) is not taken for a dead
    worker; when the process dies, the heartbeat dies with it and the stall is seen."""

    def __init__(self, turn_id: int, attempt: int):
        self.turn_id, self.attempt = turn_id, attempt
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"chat-turn-{turn_id}-heartbeat", daemon=True)

    def _run(self) -> None:
        from django.db import connection

        try:
            while not self.stopped.wait(max(1.0, settings.CHAT_STALL_SECONDS / 3)):
                ChatTurn.objects.filter(pk=self.turn_id, status=TurnStatus.STREAMING, attempts=self.attempt).update(
                    last_event_at=timezone.now())
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)


class _Publisher:
    """Numbered events of one attempt: appended to the turn's list and published, atomically."""

    def __init__(self, turn_id: int, attempt: int, *, resume: bool = False):
        """A fresh list for the attempt; with `resume`, continue the list when it already holds this
        attempt's first events (published by chat_turn_prepare): `resumed` tells which."""
        self.turn_id, self.attempt, self.n, self.resumed = turn_id, attempt, 0, False
        self.client = redis_client()
        key = turn_events_key(turn_id)
        if resume:
            first = self.client.lindex(key, 0)
            if first is not None and json.loads(first).get("attempt") == attempt:
                self.n, self.resumed = self.client.llen(key), True
                return
        self.client.delete(key)

    def __call__(self, kind: str, **data) -> None:
        event = json.dumps({"i": self.n, "attempt": self.attempt, "type": kind, **data})
        self.n += 1
        pipe = self.client.pipeline(transaction=True)
        pipe.rpush(turn_events_key(self.turn_id), event)
        pipe.expire(turn_events_key(self.turn_id), EVENTS_TTL_SECONDS)
        pipe.publish(turn_channel(self.turn_id), event)
        pipe.execute()


def chat_turn_answer(*, turn_id: int, model: str | None = None) -> bool:
    """Answer one pending turn: its checked sentences, one event each, then the checked answer.

    Claims the turn (pending -> streaming, attempts + 1) so a duplicate delivery does nothing and
    returns False. Finds the turn's context and sources (the same as chat_turn_prepare found, which
    published `sources` and `instant` already; else publishes them now), streams each sentence that
    passes the grounding checks as a `sentence` event, saves the partial answer about every second
    (with last_event_at, which tells the sweeper the worker is alive) and at the end the checked
    answer, timings and status done. Any error marks the turn failed (with the error) and publishes
    `failed`; the customer can retry.
    """
    from llm.services.answer import Passage, answer_stream

    now = timezone.now()
    claimed = ChatTurn.objects.filter(pk=turn_id, status=TurnStatus.PENDING).update(
        status=TurnStatus.STREAMING, attempts=F("attempts") + 1, last_event_at=now)
    if not claimed:
        return False
    turn = ChatTurn.objects.select_related("conversation__user").get(pk=turn_id)
    publish = _Publisher(turn.pk, turn.attempts, resume=True)
    started = time.monotonic()
    queued_for = max(0.0, (now - turn.requested_at).total_seconds())

    def since_request() -> float:
        return round(queued_for + time.monotonic() - started, 3)

    try:
        with _Heartbeat(turn.pk, turn.attempts):
            context = chat_turn_context(turn=turn)
            sources, needs_sign_in = chat_sources_for_turn(turn=turn, context=context)
            if not publish.resumed:
                cards = [source.card() for source in sources]
                ChatTurn.objects.filter(pk=turn.pk).update(sources=cards, seconds_to_sources=since_request(),
                                                           last_event_at=timezone.now())
                publish("sources", sources=cards)
                quote = None if needs_sign_in else instant_quote(sources=sources, question=context.standalone)
                if quote:
                    publish("instant", **quote, seconds=since_request())
            if needs_sign_in:
                return _finish(turn, publish, text=SIGN_IN_FOR_ORDERS, abstained=False, removed=0, first_token=None,
                               total=since_request(), sign_in=True)
            progress = {"first_token": None, "saved_at": time.monotonic(), "shown": []}

            def on_piece(piece: str) -> None:
                if progress["first_token"] is None:
                    progress["first_token"] = since_request()
                    ChatTurn.objects.filter(pk=turn.pk).update(seconds_to_first_token=progress["first_token"])
                if time.monotonic() - progress["saved_at"] >= PARTIAL_SAVE_SECONDS:
                    if not ChatTurn.objects.filter(pk=turn.pk, status=TurnStatus.STREAMING, attempts=turn.attempts).update(
                            answer=" ".join(progress["shown"]), last_event_at=timezone.now()):
                        raise _TurnTakenOver
                    progress["saved_at"] = time.monotonic()

            stream = answer_stream(
                question=turn.question[:2_000], retrieval_question=context.standalone, history=context.history,
                brands=knowledge_brands(), model=model,
                passages=[Passage(id=s.n, text=s.text, source=s.source, kind=s.kind, brand=s.brand) for s in sources])
            stream.on_piece = on_piece
            for sentence in stream:
                progress["shown"].append(sentence)
                publish("sentence", text=sentence)
            result = stream.result
            logger.info("chat turn %s: %s prompt tokens, first token %.2f s, %s sentences shown, %s removed",
                        turn.pk, result.prompt_tokens, result.first_token_seconds or 0, len(result.sentences),
                        result.removed_citations)
            return _finish(turn, publish, text=result.text, abstained=result.abstained, removed=result.removed_citations,
                           first_token=progress["first_token"], total=since_request(), cited=result.cited_ids,
                           quotes=result.quotes)
    except _TurnTakenOver:
        return False  # failed meanwhile (taken for stalled) and perhaps retried: stop here
    except Exception as exc:
        chat_turn_fail(turn_id=turn.pk, error=f"{type(exc).__name__}: {exc}", attempt=turn.attempts, publish=publish)
        raise


class _TurnTakenOver(Exception):
    """The turn is no longer this attempt's (failed as stalled, perhaps retried): stop answering."""


def _finish(turn: ChatTurn, publish, *, text: str, abstained: bool, removed: int, first_token, total: float,
            cited: list[int] | None = None, sign_in: bool = False, quotes: dict | None = None) -> bool:
    if not ChatTurn.objects.filter(pk=turn.pk, status=TurnStatus.STREAMING, attempts=turn.attempts).update(
            answer=text, abstained=abstained, removed_citations=removed, status=TurnStatus.DONE, error="",
            seconds_to_first_token=first_token, seconds_total=total, finished_at=timezone.now(), last_event_at=timezone.now()):
        return False  # failed meanwhile: its listeners were told so; this late answer is not shown
    publish("done", answer=text, abstained=abstained, cited=cited or [], sign_in=sign_in,
            offer_human=abstained, quotes=quotes or {})
    return True


def chat_turn_fail(*, turn_id: int, error: str, attempt: int | None = None, publish=None) -> bool:
    """Mark a pending or streaming turn failed (once) and tell any listener. Returns False if it had ended."""
    turns = ChatTurn.objects.filter(pk=turn_id, status__in=[TurnStatus.PENDING, TurnStatus.STREAMING])
    if attempt is not None:
        turns = turns.filter(attempts=attempt)
    if not turns.update(status=TurnStatus.FAILED, error=error[:2000], finished_at=timezone.now()):
        return False
    if publish is not None:
        publish("failed", error=ANSWER_FAILED, retryable=True)
    else:
        # Not the worker: number the event after whatever the list holds so listeners accept it.
        client = redis_client()
        key = turn_events_key(turn_id)
        payload = json.dumps({"i": client.llen(key), "type": "failed", "error": ANSWER_FAILED, "retryable": True})
        pipe = client.pipeline(transaction=True)
        pipe.rpush(key, payload).expire(key, EVENTS_TTL_SECONDS).publish(turn_channel(turn_id), payload)
        pipe.execute()
    return True


def chat_turns_fail_stale(*, now=None) -> int:
    """Fail turns whose worker is gone: pending longer than CHAT_QUEUE_TIMEOUT_SECONDS, or streaming
    with no sign of life for CHAT_STALL_SECONDS. Run by beat and checked by the SSE endpoint."""
    now = now or timezone.now()
    stale = list(
        ChatTurn.objects.filter(status=TurnStatus.PENDING, requested_at__lt=now - timedelta(seconds=settings.CHAT_QUEUE_TIMEOUT_SECONDS))
        .values_list("pk", flat=True)
    ) + list(
        ChatTurn.objects.filter(status=TurnStatus.STREAMING, last_event_at__lt=now - timedelta(seconds=settings.CHAT_STALL_SECONDS))
        .values_list("pk", flat=True)
    )
    return sum(chat_turn_fail(turn_id=pk, error="No answer from the assistant worker in time (worker stopped or queue stuck).")
               for pk in stale)


# --- hand-off -----------------------------------------------------------------------------------

def chat_transcript(*, conversation: Conversation) -> str:
    lines = []
    for turn in conversation.turns.order_by("created_at", "id"):
        lines.append(f"Customer: {turn.question}")
        if turn.status == TurnStatus.DONE:
            lines.append(f"Assistant: {turn.answer}")
        elif turn.status == TurnStatus.FAILED:
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
    from support.models.tickets import TicketOrigin
    from support.services.tickets import ticket_create

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
        from eshop.models import Product

        ticket = ticket_create(
            customer=user, body=body[:10_000], origin=TicketOrigin.CHAT,
            subject=f"Chat: {first.question[:180]}" if first else "Chat with the assistant",
            product=Product.objects.filter(pk=last_product).first() if last_product else None,
        )
        conversation.ticket = ticket
        conversation.save(update_fields=["ticket", "user", "updated_at"])
    # Triage: the ticket is committed with ai_status pending; the support desk's pipeline picks it up.
    return ticket
