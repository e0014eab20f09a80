from django.db import models


class ClassifierHead(models.Model):
    """A trained linear head on MiniLM embeddings, versioned; the newest of a task is used.

    The weights are stored as plain JSON numbers (no pickles), so loading one runs no code.
    """

    class Task(models.TextChoices):
        CATEGORY = "category", "Ticket category"
        SENTIMENT = "sentiment", "Sentiment"

    task = models.CharField(max_length=20, choices=Task.choices)
    version = models.PositiveIntegerField()
    labels = models.JSONField()
    weights = models.JSONField(help_text="One row of 384 weights per label.")
    intercepts = models.JSONField()
    train_size = models.PositiveIntegerField()
    holdout_size = models.PositiveIntegerField()
    holdout_accuracy = models.FloatField(null=True)
    holdout_macro_f1 = models.FloatField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "version"], name="classifier_head_task_version")]
        ordering = ["task", "-version"]

    def __str__(self) -> str:
        return f"{self.task} v{self.version}"
