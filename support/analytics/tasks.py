"""Ask-the-data task, on the llm queue by its name (llm_*). Imported by SupportConfig.ready."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from support.analytics.ask import data_question_answer, data_question_fail, data_questions_fail_stuck


@shared_task(acks_late=True, soft_time_limit=settings.LLM_TASK_SOFT_TIME_LIMIT, time_limit=settings.LLM_TASK_TIME_LIMIT)
def llm_data_question_answer(question_id: int) -> str | None:
    """Write, check and run the SQL of a stored question. Idempotent: a finished question is left as it is."""
    try:
        asked = data_question_answer(question_id=question_id)
    except SoftTimeLimitExceeded:
        data_question_fail(question_id=question_id, error="The language model took too long; nothing was run. Try a simpler question.")
        raise
    except Exception:
        data_question_fail(question_id=question_id, error="Answering failed unexpectedly; nothing was changed. The error is in the worker's log.")
        raise
    return asked.status if asked else None


@shared_task(name="support.analytics.tasks.sweep_stuck_data_questions", ignore_result=True)
def sweep_stuck_data_questions() -> int:
    """Beat, each minute: fail questions stuck running (see data_questions_fail_stuck)."""
    return data_questions_fail_stuck()
