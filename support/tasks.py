"""Celery tasks of the support desk: thin, they take ids and call a service.

Routed by name (config/settings/celery.py): `llm_*` to the "llm" queue (the SLM), `embed_*` to
"embed", the rest to "default".
"""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from llm.engine import GenerationTimeout
from llm.services.common import LLMInputError, LLMOutputError
from support.services.chat_answering import chat_turn_answer
from support.services.chat_liveness import chat_turns_fail_stale
from support.services.classifier_heads import calibration_refresh_start, calibration_run_step, classifier_heads_retrain
from support.services.knowledge import document_index, knowledge_index_sweep
from support.services.triage import (
    TRIAGE_MAX_ATTEMPTS,
    ticket_embed,
    ticket_triage_due,
    ticket_triage_failure_record,
    ticket_triage_run,
    triage_sweep,
)

# Worth another try: the model ran out of time or broke its output format on a busy machine.
TRANSIENT_TRIAGE_ERRORS = (GenerationTimeout, LLMOutputError, SoftTimeLimitExceeded)


@shared_task(bind=True, name="support.tasks.llm_triage_ticket", acks_late=True, ignore_result=True, max_retries=TRIAGE_MAX_ATTEMPTS - 1,
             soft_time_limit=settings.TRIAGE_TASK_SOFT_TIME_LIMIT, time_limit=settings.TRIAGE_TASK_TIME_LIMIT)
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


@shared_task(name="support.tasks.triage_ticket_due", ignore_result=True, soft_time_limit=30, time_limit=60)
def triage_ticket_due(ticket_id: int, requested_at: str) -> bool:
    """A debounced triage request is due: send its run to the llm queue (support.services.triage.ticket_triage_due)."""
    return ticket_triage_due(ticket_id=ticket_id, requested_at=requested_at)


@shared_task(name="support.tasks.embed_ticket", acks_late=True, ignore_result=True, soft_time_limit=60, time_limit=90)
def embed_ticket(ticket_id: int) -> bool:
    """Embed the customer's text of one ticket (similar tickets, semantic search). Idempotent by content hash."""
    return ticket_embed(ticket_id=ticket_id)


@shared_task(name="support.tasks.sweep_stale_triage", ignore_result=True)
def sweep_stale_triage() -> dict:
    """Beat, each minute: re-enqueue stale triage and missing embeddings (see triage_sweep)."""
    return triage_sweep()


@shared_task(name="support.tasks.embed_knowledge_document", acks_late=True, soft_time_limit=600, time_limit=660)
def embed_knowledge_document(document_id: int) -> bool:
    """(Re)build one knowledge document's chunks. Idempotent (content hash), so acks_late is safe;
    a document deleted meanwhile returns False."""
    return document_index(document_id=document_id)


@shared_task(name="support.tasks.llm_answer_chat_turn", soft_time_limit=settings.LLM_TASK_SOFT_TIME_LIMIT,
             time_limit=settings.LLM_TASK_TIME_LIMIT)
def llm_answer_chat_turn(turn_id: int) -> bool:
    """Answer one chat turn, streaming it through Redis. Not acks_late: a worker that dies mid-answer
    must not replay a half-streamed turn an hour later; the turn is failed instead (stall sweeper)
    and the customer retries. A turn already claimed returns False."""
    return chat_turn_answer(turn_id=turn_id)


@shared_task(name="support.tasks.chat_turns_fail_stale")
def chat_turns_fail_stale_task() -> int:
    """Beat: fail chat turns whose worker is gone (see chat_turns_fail_stale)."""
    return chat_turns_fail_stale()


@shared_task(name="support.tasks.sweep_pending_knowledge", ignore_result=True)
def sweep_pending_knowledge() -> int:
    """Beat: send again documents whose indexing never reached the broker (see knowledge_index_sweep)."""
    return knowledge_index_sweep()


@shared_task(name="support.tasks.classifiers_retrain_task", soft_time_limit=600, time_limit=660)
def classifiers_retrain_task() -> list[dict]:
    """Refit every classifier head on the labelled tickets (default queue: it embeds with MiniLM,
    generates nothing). Not idempotent by design (each run stores new versions), so acks_late stays off.
    """
    return classifier_heads_retrain()


@shared_task(name="support.tasks.calibrations_refresh", ignore_result=True)
def calibrations_refresh() -> bool:
    """Beat: start a calibration run when one is due (see calibration_refresh_start)."""
    return calibration_refresh_start()


@shared_task(name="support.tasks.llm_label_calibrations_refit", soft_time_limit=600, time_limit=660)
def llm_label_calibrations_refit(run_id: str | None = None) -> dict:
    """One step of a recalibration of the SLM's labels (calibration_run_step: a few labelled tickets read), then
    the next step is sent to the back of the llm queue: a chat turn asked meanwhile waits for one step only. The
    last step stores new versions, so acks_late stays off, as for the heads."""
    step = calibration_run_step(run_id=run_id)
    if not step["done"]:
        llm_label_calibrations_refit.delay(step["run_id"])
    return step
