"""Queue routing is explicit per task, and chat answers come before triage on the llm worker."""

import pytest
from django.conf import settings

from config.celery import app

OUR_APPS = {"core", "eshop", "support", "llm"}


def _our_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if name.split(".")[0] in OUR_APPS)


def test_every_registered_task_of_our_apps_has_an_explicit_route():
    tasks = _our_tasks()

    assert "support.tasks.llm_answer_chat_turn" in tasks and len(tasks) >= 10
    assert [name for name in tasks if name not in settings.CELERY_TASK_ROUTES] == []


def test_every_route_names_a_registered_task():
    """A renamed task must not leave a stale route behind (its messages would go to the default queue)."""
    tasks = set(_our_tasks())

    assert [name for name in settings.CELERY_TASK_ROUTES if name not in tasks] == []
    assert not any("*" in pattern for pattern in settings.CELERY_TASK_ROUTES), "full task names, not globs"


@pytest.mark.parametrize(("task", "queue"), [
    ("support.tasks.llm_answer_chat_turn", "chat"),
    ("support.tasks.llm_triage_ticket", "llm"),
    ("support.tasks.triage_ticket_due", "default"),
    ("support.tasks.embed_knowledge_document", "embed"),
    ("support.tasks.chat_turns_fail_stale", "default"),
])
def test_celery_routes_each_task_to_its_queue(task, queue):
    assert app.amqp.router.route({}, task)["queue"].name == queue


def test_the_llm_worker_asks_the_chat_queue_first_every_time():
    from kombu.utils.scheduling import cycle_by_name

    strategy = settings.CELERY_BROKER_TRANSPORT_OPTIONS["queue_order_strategy"]
    cycle = cycle_by_name(strategy)()
    cycle.update(["llm", "chat"])  # a worker's queues are a set: any order

    for _ in range(3):
        assert cycle.consume(2)[0] == "chat"
        cycle.rotate("chat")  # what the transport does after each message: no effect on this strategy
