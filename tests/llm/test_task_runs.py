"""Celery signal handlers record runs of llm/embed tasks (tasks run locally with apply(): the same signals fire)."""

import pytest

from core.tasks import queue_heartbeat
from llm.models import TaskRun
from llm.tasks import embed_texts_task, llm_triage_messages_task

pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_a_successful_embed_task_is_recorded_with_its_queue_and_duration():
    result = embed_texts_task.apply(args=(["hello"],), task_id="embed-1")

    assert result.successful()
    run = TaskRun.objects.get(task_id="embed-1")
    assert (run.task_name, run.queue, run.status, run.error) == ("llm.tasks.embed_texts_task", "embed", "success", "")
    assert run.seconds > 0


def test_a_failing_llm_task_is_recorded_as_a_failure_with_its_error():
    result = llm_triage_messages_task.apply(args=([], []), task_id="triage-1")

    assert result.failed()
    run = TaskRun.objects.get(task_id="triage-1")
    assert (run.queue, run.status) == ("llm", "failure")
    assert run.error.startswith("LLMInputError")


def test_tasks_on_the_default_queue_are_not_recorded():
    queue_heartbeat.apply(args=("default",), task_id="beat-1")

    assert not TaskRun.objects.filter(task_id="beat-1").exists()


def test_the_task_run_list_renders_in_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    from tests.factories import UserFactory
    from tests.support.factories import TaskRunFactory

    TaskRunFactory.create_batch(30, status="failure", error="GenerationTimeout: generation stopped after 90 s")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    with django_assert_max_num_queries(12):
        response = client.get("/admin/llm/taskrun/", {"status__exact": "failure"})

    assert response.status_code == 200 and "GenerationTimeout" in response.content.decode()
