"""Celery tasks of the support app: thin, they take ids and call a service.

Routed by name (config/settings/celery.py): `embed_*` on the embed queue, `llm_*` on the llm queue.
"""

from celery import shared_task

from llm.tasks import LLM_HARD_LIMIT, LLM_SOFT_LIMIT
from support.services.chat import chat_turn_answer, chat_turns_fail_stale
from support.services.knowledge import document_index


@shared_task(name="support.tasks.embed_knowledge_document", acks_late=True, soft_time_limit=600, time_limit=660)
def embed_knowledge_document(document_id: int) -> bool:
    """(Re)build one knowledge document's chunks. Idempotent (content hash), so acks_late is safe;
    a document deleted meanwhile returns False."""
    return document_index(document_id=document_id)


@shared_task(name="support.tasks.llm_answer_chat_turn", soft_time_limit=LLM_SOFT_LIMIT, time_limit=LLM_HARD_LIMIT)
def llm_answer_chat_turn(turn_id: int) -> bool:
    """Answer one chat turn, streaming it through Redis. Not acks_late: a worker that dies mid-answer
    must not replay a half-streamed turn an hour later; the turn is failed instead (stall sweeper)
    and the customer retries. A turn already claimed returns False."""
    return chat_turn_answer(turn_id=turn_id)


@shared_task(name="support.tasks.chat_turns_fail_stale")
def chat_turns_fail_stale_task() -> int:
    """Beat: fail chat turns whose worker is gone (see chat_turns_fail_stale)."""
    return chat_turns_fail_stale()
