"""Thin Celery tasks around the llm services (routed to "llm" / "embed" by name: config/settings/celery.py).

Domain tasks (triage of a ticket, a chat answer) live in their apps and call the services
directly; these serve ad-hoc use, the benchmark and the API. Inputs are plain JSON.
"""

from celery import shared_task
from django.conf import settings

from llm.services.embed import embed_texts
from llm.services.triage import CategoryOption, triage_ticket

@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def embed_texts_task(texts: list[str]) -> list[list[float]]:
    """Vectors for texts. Pure function of its input, so safe to run twice (acks_late)."""
    return embed_texts(texts=texts).tolist()


@shared_task(acks_late=True, soft_time_limit=settings.LLM_TASK_SOFT_TIME_LIMIT, time_limit=settings.LLM_TASK_TIME_LIMIT)
def llm_triage_messages_task(messages: list[dict], categories: list[dict]) -> dict:
    """All triage fields of a thread (llm.services.triage.triage_ticket). Pure function of its input (acks_late)."""
    options = [CategoryOption(slug=c["slug"], name=c["name"], description=c.get("description", "")) for c in categories]
    return triage_ticket(messages=messages, categories=options).as_dict()
