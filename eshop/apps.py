from django.apps import AppConfig


class EshopConfig(AppConfig):
    name = "eshop"
    verbose_name = "Shop"

    def ready(self):
        from eshop import signals  # noqa: F401  (connects the receivers)
