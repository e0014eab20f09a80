"""Celery tasks of the support desk: thin, they take ids and call a service.

Routed by name (config/settings/celery.py): `llm_*` to the "llm" queue (the SLM), `embed_*` to
"embed", the rest to "default".
"""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from llm.engine import GenerationTimeout
from llm.services.common import LLMInputError, LLMOutputError
from support.services.triage import (
    TRIAGE_MAX_ATTEMPTS,
    ticket_embed,
    ticket_triage_failure_record,
    ticket_triage_run,
    triage_sweep,
)

TRIAGE_SOFT_LIMIT = 150
TRIAGE_HARD_LIMIT = 180
# Worth another try: the model ran out of time or broke its output format on a busy machine.
TRANSIENT_TRIAGE_ERRORS = (GenerationTimeout, LLMOutputError, SoftTimeLimitExceeded)


@shared_task(bind=True, name="support.tasks.llm_triage_ticket", acks_late=True, ignore_result=True, max_retries=TRIAGE_MAX_ATTEMPTS - 1,
             soft_time_limit=TRIAGE_SOFT_LIMIT, time_limit=TRIAGE_HARD_LIMIT)
def llm_triage_ticket(self, ticket_id: int, requested_at: str | None = None) -> str:
    """Triage one ticket (support.services.triage.ticket_triage_run). Idempotent by the thread's
    content hash, so acks_late is safe: a redelivered or duplicate message changes nothing.

    Transient errors (time limit, malformed model output, database/broker blips) are retried with
    exponential backoff; bad input and the last failed retry end as ai_status=failed on the ticket.
    """
    try:
        return ticket_triage_run(ticket_id=ticket_id, requested_at=requested_at)
    except LLMInputError as exc:
        ticket_triage_failure_record(ticket_id=ticket_id, error=f"Input not accepted: {exc}", final=True)
        return "failed"
    except TRANSIENT_TRIAGE_ERRORS + self.autoretry_for as exc:
        final = self.request.retries >= self.max_retries
        ticket_triage_failure_record(ticket_id=ticket_id, error=f"{type(exc).__name__}: {exc}", final=final)
        if final:
            return "failed"
        raise self.retry(exc=exc, countdown=min(5 * 2 ** self.request.retries, 300)) from None
    except Exception as exc:
        ticket_triage_failure_record(ticket_id=ticket_id, error=f"{type(exc).__name__}: {exc}", final=True)
        raise


@shared_task(name="support.tasks.embed_ticket", acks_late=True, ignore_result=True, soft_time_limit=60, time_limit=90)
def embed_ticket(ticket_id: int) -> bool:
    """Embed the customer's text of one ticket (similar tickets, semantic search). Idempotent by content hash."""
    return ticket_embed(ticket_id=ticket_id)


@shared_task(name="support.tasks.sweep_stale_triage", ignore_result=True)
def sweep_stale_triage() -> dict:
    """Beat, each minute: re-enqueue stale triage and missing embeddings (see triage_sweep)."""
    return triage_sweep()
