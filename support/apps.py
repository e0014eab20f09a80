from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "support"
    verbose_name = "Support"

    def ready(self):
        from support.analytics import tasks  # noqa: F401 - registers the ask-the-data task (not autodiscovered)
