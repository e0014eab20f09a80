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


class TaskRun(models.Model):
    """One run of an SLM or embedding task (queues "llm" and "embed"), recorded by Celery signals.

    Feeds the "SLM task latency and failure rate" chart; see llm/task_runs.py.
    """

    class Status(models.TextChoices):
        SUCCESS = "success", "Succeeded"
        FAILURE = "failure", "Failed"
        RETRY = "retry", "Retried"

    task_id = models.CharField(max_length=64, db_index=True)
    task_name = models.CharField(max_length=200, db_index=True)
    queue = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=Status.choices)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(db_index=True)
    seconds = models.FloatField()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["task_name", "started_at"], name="taskrun_name_started")]

    def __str__(self) -> str:
        return f"{self.task_name} {self.status} {self.seconds:.2f} s"
