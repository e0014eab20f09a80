from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = "Support"

    def ready(self):
        from llm.warmup import register_system_prompt
        from support.analytics import tasks  # noqa: F401 - registers the ask-the-data task (not autodiscovered)
        from support.selectors import triage_system_prompt

        register_system_prompt("triage", triage_system_prompt)  # an llm worker evaluates it when it starts
