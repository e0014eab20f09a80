from django.apps import AppConfig


class LlmConfig(AppConfig):
    name = "llm"
    verbose_name = "Language models"

    def ready(self):
        from llm import task_runs  # noqa: F401 - connects the Celery signal handlers
