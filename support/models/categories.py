from django.db import models


class TicketCategory(models.Model):
    """An admin-managed ticket category; the classifier reads the active set at each run."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(help_text="What tickets in this category are about: the classifier reads it.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "ticket categories"

    def __str__(self) -> str:
        return self.name
