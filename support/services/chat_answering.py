"""The llm worker's side of the customer chat: answering one committed turn (task
support.tasks.llm_answer_chat_turn), streamed as events (support/services/chat_events.py) while a
heartbeat tells the sweeper the worker is alive (support/services/chat_liveness.py)."""

from __future__ import annotations

import logging
import time

from django.db.models import F
from django.utils import timezone

from core.jobs import JobStatus
from llm.services.answer import Passage, answer_stream
from support.models import ChatTurn
from support.models.chat import ConversationKind
from support.services.chat_events import TurnEventPublisher
from support.services.chat_liveness import TurnHeartbeat, chat_turn_fail
from support.services.chat_sources import chat_sources_for_turn, chat_turn_context, instant_quote, knowledge_brands

PARTIAL_SAVE_SECONDS = 1.0
SIGN_IN_FOR_ORDERS = ("I can look up your orders once you sign in: please sign in and ask again. "
                      "For anything else, just ask here.")
logger = logging.getLogger(__name__)


def chat_turn_answer(*, turn_id: int, model: str | None = None) -> bool:
    """Answer one pending turn: its checked sentences, one event each, then the checked answer.

    Claims the turn (pending -> running, started_at, attempts + 1) so a duplicate delivery does nothing and
    returns False. Finds the turn's context and sources (the same as chat_turn_prepare found, which
    published `sources` and `instant` already; else publishes them now), streams each sentence that
    passes the grounding checks as a `sentence` event, saves the partial answer about every second
    (with last_event_at, which tells the sweeper the worker is alive) and at the end the checked
    answer, timings and status done. Any error marks the turn failed (with the error) and publishes
    `failed`; the customer can retry.
    """
    now = timezone.now()
    claimed = ChatTurn.objects.filter(pk=turn_id, status=JobStatus.PENDING).update(
        status=JobStatus.RUNNING, attempts=F("attempts") + 1, started_at=now, last_event_at=now)
    if not claimed:
        return False
    turn = ChatTurn.objects.select_related("conversation__user").get(pk=turn_id)
    publish = TurnEventPublisher(turn.pk, turn.attempts, resume=True)
    started = time.monotonic()
    queued_for = max(0.0, (now - turn.requested_at).total_seconds())

    def since_request() -> float:
        return round(queued_for + time.monotonic() - started, 3)

    try:
        with TurnHeartbeat(turn.pk, turn.attempts):
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
            if needs_sign_in and not sources:
                return _finish(turn, publish, text=SIGN_IN_FOR_ORDERS, abstained=False, removed=0, first_token=None,
                               total=since_request(), sign_in=True)
            progress = {"first_token": None, "saved_at": time.monotonic(), "shown": []}

            def on_piece(piece: str) -> None:
                if progress["first_token"] is None:
                    progress["first_token"] = since_request()
                    ChatTurn.objects.filter(pk=turn.pk).update(seconds_to_first_token=progress["first_token"])
                if time.monotonic() - progress["saved_at"] >= PARTIAL_SAVE_SECONDS:
                    if not ChatTurn.objects.filter(pk=turn.pk, status=JobStatus.RUNNING, attempts=turn.attempts).update(
                            answer=" ".join(progress["shown"]), last_event_at=timezone.now()):
                        raise _TurnTakenOver
                    progress["saved_at"] = time.monotonic()

            # a customer's answer is read back before it is shown; an agent reads a draft before sending it
            stream = answer_stream(
                question=turn.question[:2_000], retrieval_question=context.standalone, history=context.history,
                brands=knowledge_brands(), model=model, judged=turn.conversation.kind == ConversationKind.CUSTOMER,
                passages=[Passage(id=s.n, text=s.text, source=s.source, kind=s.kind, brand=s.brand) for s in sources])
            stream.on_piece = on_piece
            for sentence in stream:
                progress["shown"].append(sentence)
                publish("sentence", text=sentence)
            result = stream.result
            if needs_sign_in and result.abstained:  # the policies do not answer it: the customer's own order would
                return _finish(turn, publish, text=SIGN_IN_FOR_ORDERS, abstained=False, removed=result.removed_citations,
                               first_token=progress["first_token"], total=since_request(), sign_in=True,
                               judged=result.judged, prompt_tokens=result.prompt_tokens)
            logger.info("chat turn %s: %s prompt tokens, first token %.2f s, %s sentences shown, %s removed",
                        turn.pk, result.prompt_tokens, result.first_token_seconds or 0, len(result.sentences),
                        result.removed_citations)
            return _finish(turn, publish, text=result.text, abstained=result.abstained, removed=result.removed_citations,
                           first_token=progress["first_token"], total=since_request(), cited=result.cited_ids,
                           quotes=result.quotes, sign_in=needs_sign_in, judged=result.judged,
                           prompt_tokens=result.prompt_tokens)
    except _TurnTakenOver:
        return False  # failed meanwhile (taken for stalled) and perhaps retried: stop here
    except Exception as exc:
        chat_turn_fail(turn_id=turn.pk, error=f"{type(exc).__name__}: {exc}", attempt=turn.attempts, publish=publish)
        raise


class _TurnTakenOver(Exception):
    """The turn is no longer this attempt's (failed as stalled, perhaps retried): stop answering."""


def _finish(turn: ChatTurn, publish, *, text: str, abstained: bool, removed: int, first_token, total: float,
            cited: list[int] | None = None, sign_in: bool = False, quotes: dict | None = None,
            judged: float | None = None, prompt_tokens: int | None = None) -> bool:
    if not ChatTurn.objects.filter(pk=turn.pk, status=JobStatus.RUNNING, attempts=turn.attempts).update(
            answer=text, abstained=abstained, removed_citations=removed, answer_judged=judged, prompt_tokens=prompt_tokens,
            status=JobStatus.DONE, error="",
            seconds_to_first_token=first_token, seconds_total=total, finished_at=timezone.now(), last_event_at=timezone.now()):
        return False  # failed meanwhile: its listeners were told so; this late answer is not shown
    publish("done", answer=text, abstained=abstained, cited=cited or [], sign_in=sign_in,
            offer_human=abstained, quotes=quotes or {})
    return True
