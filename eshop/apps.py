from django.apps import AppConfig


class EshopConfig(AppConfig):
    name = "eshop"
    verbose_name = "Shop"
