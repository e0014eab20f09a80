from django.apps import AppConfig


class LlmConfig(AppConfig):
    name = "llm"
    verbose_name = "Language models"

    def ready(self):
        from celery.signals import worker_ready

        from llm import task_runs, warmup  # noqa: F401 - connect the Celery signal handlers

        worker_ready.connect(_log_backend, weak=False)


def _log_backend(sender=None, **kwargs) -> None:
    """A worker on the "llm" queue says in its log which backend it will use."""
    consuming = sender.app.amqp.queues.consume_from or {}  # the -Q selection; empty: every queue
    if not consuming or "llm" in consuming:
        from llm.backend_status import log_backend_at_worker_start

        log_backend_at_worker_start()
