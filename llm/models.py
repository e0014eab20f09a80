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


class LabelCalibration(models.Model):
    """Per-label offsets on the SLM's log-probabilities of one task's labels (for the attitude: bounds on its
    expected score), fitted on labelled tickets (llm/services/calibration.py); the newest matching the prompt,
    model and labels is used."""

    Task = ClassifierHead.Task

    task = models.CharField(max_length=20, choices=Task.choices)
    version = models.PositiveIntegerField()
    model = models.CharField(max_length=200, help_text="The LLM_MODEL whose probabilities were calibrated.")
    fingerprint = models.CharField(max_length=64, help_text="Hash of the prompt the probabilities were read under.")
    labels = models.JSONField()
    offsets = models.JSONField(help_text="One offset per label, added to the log-probability.")
    head_weight = models.FloatField(null=True, blank=True, help_text=(
        "Weight of the trained head's log-probabilities: 0 when it did not help (triage then ignores the head), "
        "empty when no head was trained (triage then uses the head rule of heads.combine_category)."))
    level_bounds = models.JSONField(null=True, blank=True, help_text=(
        "Ordered labels (the attitude): the level is the band of the expected score these bounds hold it in; "
        "the offsets are then unused."))
    train_size = models.PositiveIntegerField()
    accuracy_before = models.FloatField(help_text="The raw model on the labelled tickets.")
    accuracy_after = models.FloatField(help_text="Calibrated, each ticket with offsets fitted on the others (5 folds).")
    within_one_before = models.FloatField(null=True, blank=True,
                                          help_text="Ordered labels: the raw model's share within one level.")
    within_one_after = models.FloatField(null=True, blank=True, help_text="Ordered labels: calibrated, on held-out folds.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "version"], name="label_calibration_task_version")]
        ordering = ["task", "-version"]

    def __str__(self) -> str:
        return f"{self.task} calibration v{self.version}"

    @property
    def beats_raw_model(self) -> bool:
        """More accurate than the raw model on held-out folds; for ordered labels, as accurate and more often
        within one level (the level bounds are fitted for both)."""
        if self.within_one_after is not None and self.within_one_before is not None:
            return (self.accuracy_after, self.within_one_after) > (self.accuracy_before, self.within_one_before)
        return self.accuracy_after > self.accuracy_before
