"""The durable triage pipeline: request (on commit), run (in the llm worker), apply, sweep.

How nothing is lost or done twice:
- `ticket_triage_request` marks the ticket pending with a request time in the same transaction
  as the message that caused it and, after commit, sends `support.tasks.triage_ticket_due` with a
  short countdown to the "default" queue; when it is due, and no newer request superseded it, that
  sends `support.tasks.llm_triage_ticket` to the "llm" queue at once. The countdown waits on the
  default worker, not the llm worker: a Celery worker takes every message with a countdown off its
  queue at once (they do not count against the prefetch limit) and runs them as they fall due,
  ahead of a chat turn queued later, so ten debounced triage tasks on the llm queue made a chat
  wait for ten triage runs. A burst of messages gives one run: each task carries the request time
  it was enqueued for and steps aside when a newer request superseded it.
- A run is idempotent: it hashes the thread it sees and does nothing when the AI fields already
  describe that hash (unless forced). Fields named in `agent_fields` are never written.
- A broker that is down at enqueue time (core/jobs.py `enqueue`: logged, never raised), or a worker
  killed mid-run, leaves the ticket pending or running: `triage_sweep` (beat, every minute)
  re-enqueues what has waited too long.
- Transient model/broker/database errors are retried with backoff by the task; what cannot
  succeed ends as ai_status=failed with the error in ai_error (shown to agents and in admin).
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.jobs import JobStatus, enqueue
from eshop.services.orders import ORDER_NUMBER_RE
from support.models import Ticket, TicketCategory
from support.models.tickets import MessageAuthor

# Seconds a request waits before it runs, so that a burst of messages is triaged once.
TRIAGE_DEBOUNCE_SECONDS = getattr(settings, "SUPPORT_TRIAGE_DEBOUNCE_SECONDS", 3)
# After an agent's reply the summary is refreshed after this wait (an agent often sends two replies in a row).
AGENT_REPLY_DEBOUNCE_SECONDS = getattr(settings, "SUPPORT_TRIAGE_AGENT_REPLY_DEBOUNCE_SECONDS", 60)
# A request that reached the broker but has not run after this long is sent again (its message was
# lost, e.g. a broker restarted without its data); long enough for a backlog to drain (69 demo
# tickets take about 12 minutes with one llm worker). A request that never reached the broker has
# ai_requested_at cleared and is sent at the next sweep.
TRIAGE_PENDING_STALE = timedelta(seconds=getattr(settings, "SUPPORT_TRIAGE_PENDING_STALE_SECONDS", 30 * 60))
# A run older than the task's hard time limit plus a margin: its worker died.
TRIAGE_RUNNING_STALE = timedelta(seconds=getattr(settings, "SUPPORT_TRIAGE_RUNNING_STALE_SECONDS", 240))
# Runs (attempts) a ticket gets before the sweeper gives up and marks it failed.
TRIAGE_MAX_ATTEMPTS = 5

EMBED_MAX_CHARS = 4000  # MiniLM reads the first 256 word pieces anyway


# --- hashing ---------------------------------------------------------------------------------

def ticket_thread(ticket: Ticket) -> list[dict]:
    """The thread as the triage model reads it: public customer and agent messages, oldest first."""
    rows = ticket.messages.filter(is_internal=False, author_kind__in=[MessageAuthor.CUSTOMER, MessageAuthor.AGENT])
    return [{"author": m.author_kind, "body": m.body} for m in rows.order_by("created_at", "id")]


def thread_hash(thread: list[dict]) -> str:
    digest = hashlib.sha256()
    for message in thread:
        digest.update(f"{message['author']}\x00{message['body']}\x1e".encode())
    return digest.hexdigest()


def _text_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def ticket_customer_text(ticket: Ticket) -> str:
    """What the customer wrote, in order: the text embedded for similarity and product detection."""
    bodies = ticket.messages.filter(author_kind=MessageAuthor.CUSTOMER, is_internal=False).order_by("created_at", "id")
    return "\n".join(m.body for m in bodies)


# --- request ---------------------------------------------------------------------------------

def _triage_send(ticket_id: int, requested_at: datetime, *, countdown: float | None) -> None:
    """Send the triage run now, or (with a countdown) its due-time message through the default queue."""
    from support.tasks import llm_triage_ticket, triage_ticket_due

    task = triage_ticket_due if countdown else llm_triage_ticket
    if not enqueue(task, ticket_id, countdown=countdown or None, requested_at=requested_at.isoformat()):
        # Not sent: clear the request time (only if no newer request came), so the next sweep sends it.
        Ticket.objects.filter(pk=ticket_id, ai_status=JobStatus.PENDING, ai_requested_at=requested_at).update(ai_requested_at=None)


def ticket_triage_due(*, ticket_id: int, requested_at: str) -> bool:
    """A debounced request has fallen due: send its triage run to the llm queue, unless a newer
    request superseded it (its own due message sends that one) or the ticket is gone or no longer
    pending. True when sent."""
    requested = datetime.fromisoformat(requested_at)
    if not Ticket.objects.filter(pk=ticket_id, ai_status=JobStatus.PENDING, ai_requested_at=requested).exists():
        return False
    _triage_send(ticket_id, requested, countdown=None)
    return True


def ticket_triage_request(ticket: Ticket, *, force: bool = False, countdown: float = TRIAGE_DEBOUNCE_SECONDS) -> None:
    """Ask for triage and a fresh embedding of `ticket` once the current transaction commits.

    Writes ai_status=pending and ai_requested_at now (debounce key). `force` re-runs even when the
    thread is unchanged (the stored hash is cleared); agent_fields are still never overwritten.
    Safe to call inside or outside a transaction; never raises for a broker outage.
    """
    from support.tasks import embed_ticket

    now = timezone.now()
    updates = {"ai_status": JobStatus.PENDING, "ai_requested_at": now, "ai_error": ""}
    if force:
        updates["ai_input_hash"] = ""
    if ticket.ai_status != JobStatus.RUNNING:
        updates["ai_attempts"] = 0
    Ticket.objects.filter(pk=ticket.pk).update(**updates)
    for name, value in updates.items():
        setattr(ticket, name, value)
    transaction.on_commit(lambda: _triage_send(ticket.pk, now, countdown=countdown))
    transaction.on_commit(lambda: enqueue(embed_ticket, ticket.pk))


# --- run ---------------------------------------------------------------------------------------

def _order_detect(ticket: Ticket, text: str):
    """An order number in the text that belongs to THIS customer (another customer's never matches)."""
    from eshop.models import Order

    numbers = {match.upper() for match in ORDER_NUMBER_RE.findall(text)}
    if not numbers:
        return None
    return Order.objects.filter(user_id=ticket.customer_id, number__in=numbers).order_by("-created_at").first()


def ticket_triage_run(*, ticket_id: int, requested_at: str | None = None) -> str:
    """Triage one ticket now (worker side). Returns what happened: "done", "unchanged",
    "superseded", "gone" or "closed".

    Idempotent: a run whose thread hash equals ai_input_hash writes nothing. Superseded when a newer
    request was made after `requested_at` (that request's task runs instead). Raises the model's
    errors (the task decides whether to retry) after recording them on the row.
    """
    from llm.services.embed import embed_texts
    from llm.services.triage import triage_ticket
    from support.selectors import labelled_examples_similar, ticket_category_options
    from support.services.product_detect import product_detect

    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if ticket is None:
            return "gone"
        if requested_at and ticket.ai_requested_at and ticket.ai_requested_at > datetime.fromisoformat(requested_at):
            return "superseded"
        thread = ticket_thread(ticket)
        digest = thread_hash(thread)
        if digest == ticket.ai_input_hash:
            if ticket.ai_status != JobStatus.DONE:
                ticket.ai_status = JobStatus.DONE
                ticket.save(update_fields=["ai_status", "updated_at"])
            return "unchanged"
        if not any(m["author"] == MessageAuthor.CUSTOMER for m in thread):
            ticket.ai_status, ticket.ai_error = JobStatus.FAILED, "The ticket has no customer message to triage."
            ticket.save(update_fields=["ai_status", "ai_error", "updated_at"])
            return "failed"
        started = timezone.now()
        ticket.ai_status, ticket.ai_started_at, ticket.ai_attempts = JobStatus.RUNNING, started, ticket.ai_attempts + 1
        ticket.save(update_fields=["ai_status", "ai_started_at", "ai_attempts", "updated_at"])

    clock = time.monotonic()
    customer_text = "\n".join(m["body"] for m in thread if m["author"] == MessageAuthor.CUSTOMER)
    vector = embed_texts(texts=[customer_text[:EMBED_MAX_CHARS]])[0]
    # The category set is read now, not when the ticket was queued: a category renamed or deactivated
    # meanwhile is never offered, and a labelled example in an inactive category is never shown.
    result = triage_ticket(messages=thread, categories=ticket_category_options(),
                           examples=labelled_examples_similar(vector=vector, exclude_ticket_id=ticket_id))
    product, _ = product_detect(text=customer_text, vector=vector, customer_id=ticket.customer_id)
    order = _order_detect(ticket, customer_text)

    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=ticket_id).first()
        if ticket is None:
            return "gone"
        ai_values = {
            "title": result.title, "summary": result.summary, "sentiment": result.sentiment,
            "urgency": result.urgency, "language": result.language,
            # Deactivated while this run classified: no category rather than an inactive one.
            "category": TicketCategory.objects.filter(slug=result.category, is_active=True).first(),
            "product": product, "order": order,
        }
        changed = []
        for field, value in ai_values.items():
            if ticket.is_agent_set(field):
                continue
            if field in ("product", "order", "category") and value is None:
                continue  # detection found nothing: keep what was there
            setattr(ticket, field, value)
            changed.append(field)
        if "category" in changed:
            ticket.category_confidence, ticket.category_method = result.category_confidence, result.category_method
            changed += ["category_confidence", "category_method"]
        if "sentiment" in changed:
            ticket.sentiment_score = result.sentiment_score
            changed.append("sentiment_score")
        if "urgency" in changed:
            ticket.urgency_reason = result.urgency_reason
            changed.append("urgency_reason")
        newer_request = ticket.ai_requested_at and ticket.ai_requested_at > started
        ticket.ai_status = JobStatus.PENDING if newer_request else JobStatus.DONE
        ticket.ai_input_hash = digest
        ticket.ai_error = ""
        ticket.ai_finished_at = timezone.now()
        ticket.ai_seconds = round(time.monotonic() - clock, 2)
        ticket.save(update_fields=changed + ["ai_status", "ai_input_hash", "ai_error", "ai_finished_at",
                                             "ai_seconds", "updated_at"])
        if ticket.embedding_hash != _text_hash(customer_text[:EMBED_MAX_CHARS]):
            # Its embed task never reached the broker (it was down) or is still queued: ask again (idempotent).
            from support.tasks import embed_ticket

            transaction.on_commit(lambda: enqueue(embed_ticket, ticket_id))
    return "done"


def ticket_triage_failure_record(*, ticket_id: int, error: str, final: bool) -> None:
    """Record a failed attempt: the error is shown at once; the status is `failed` when no retry follows."""
    status = JobStatus.FAILED if final else JobStatus.PENDING
    Ticket.objects.filter(pk=ticket_id).update(ai_status=status, ai_error=error[:2000], updated_at=timezone.now())


# --- embedding -------------------------------------------------------------------------------

def ticket_embed(*, ticket_id: int) -> bool:
    """Store the embedding of the customer's text (similar-ticket and semantic search). Idempotent
    by content hash; returns True when written, False when unchanged or the ticket is gone."""
    from llm.services.embed import embed_texts

    ticket = Ticket.objects.filter(pk=ticket_id).first()
    if ticket is None:
        return False
    text = ticket_customer_text(ticket)[:EMBED_MAX_CHARS]
    if not text:
        return False
    digest = _text_hash(text)
    if digest == ticket.embedding_hash and ticket.embedding is not None:
        return False
    vector = embed_texts(texts=[text])[0]
    return bool(Ticket.objects.filter(pk=ticket_id).update(embedding=vector, embedding_hash=digest))


# --- sweep -----------------------------------------------------------------------------------

EMBEDDING_STALE = timedelta(minutes=2)


def triage_sweep(*, pending_stale: timedelta = TRIAGE_PENDING_STALE, running_stale: timedelta = TRIAGE_RUNNING_STALE) -> dict:
    """Send again triage that never reached the broker (broker was down), that waits too long (its
    message was lost) or whose run stopped (worker died); mark as failed what used up its attempts;
    enqueue missing embeddings. Returns counts. Beat runs it each minute."""
    from django.db.models import Q

    from support.tasks import embed_ticket

    now = timezone.now()
    stale = Ticket.objects.filter(
        Q(ai_status=JobStatus.PENDING, ai_requested_at__lt=now - pending_stale)
        | Q(ai_status=JobStatus.PENDING, ai_requested_at__isnull=True)
        | Q(ai_status=JobStatus.RUNNING, ai_started_at__lt=now - running_stale)
    )
    exhausted = stale.filter(ai_attempts__gte=TRIAGE_MAX_ATTEMPTS)
    failed = exhausted.update(ai_status=JobStatus.FAILED, ai_error=(
        f"Triage did not finish after {TRIAGE_MAX_ATTEMPTS} attempts (worker lost or timed out)."), updated_at=now)
    requeued = 0
    for ticket_id in stale.filter(ai_attempts__lt=TRIAGE_MAX_ATTEMPTS).values_list("pk", flat=True):
        # A new request time: any older message for this ticket still in the broker steps aside.
        Ticket.objects.filter(pk=ticket_id).update(ai_status=JobStatus.PENDING, ai_requested_at=now)
        _triage_send(ticket_id, now, countdown=None)
        requeued += 1
    missing = list(Ticket.objects.filter(embedding__isnull=True, updated_at__lt=now - EMBEDDING_STALE)
                   .values_list("pk", flat=True)[:500])
    for ticket_id in missing:
        enqueue(embed_ticket, ticket_id)
    return {"requeued": requeued, "failed": failed, "embeddings": len(missing)}
