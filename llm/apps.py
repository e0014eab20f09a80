from django.apps import AppConfig


class LlmConfig(AppConfig):
    name = "llm"
    verbose_name = "Language models"

    def ready(self):
        from llm import task_runs, warmup  # noqa: F401 - connect the Celery signal handlers
