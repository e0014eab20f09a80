"""Ask the data: every question an admin asks, with the SQL the SLM wrote and how it went."""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.jobs import JobFields, JobStatus


OVERDUE_MINUTES = 5  # the llm task's hard time limit is 150 s
MAX_ATTEMPTS = 2  # runs of one question; a worker killed twice on it (out of memory) does not get a third


# The job vocabulary and one more end: the safety check refused the model's SQL. That is neither
# done (there is no answer) nor failed (nothing broke; asking again gets the same). Enum members
# cannot be subclassed, so the functional API copies JobStatus's members and adds this one.
QuestionStatus = models.TextChoices(
    "QuestionStatus", [(status.name, (status.value, status.label)) for status in JobStatus] + [("REFUSED", ("refused", "Refused"))])


class DataQuestion(JobFields):
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    question = models.TextField()
    sql = models.TextField(blank=True, help_text="What the model wrote.")
    executed_sql = models.TextField(blank=True, help_text="The validated query as run (re-rendered, comments gone, row limit).")
    status = models.CharField(max_length=10, choices=QuestionStatus.choices, default=QuestionStatus.PENDING, db_index=True)
    columns = models.JSONField(default=list, blank=True)
    rows = models.JSONField(default=list, blank=True, help_text="The result (at most the row limit), as text and numbers.")
    row_count = models.PositiveIntegerField(null=True, blank=True)
    truncated = models.BooleanField(default=False)
    model_name = models.CharField(max_length=100, blank=True)
    seconds_generate = models.FloatField(null=True, blank=True)
    seconds_query = models.FloatField(null=True, blank=True)
    seconds_total = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            ("view_analytics_dashboard", "Can view the analytics dashboard"),
            ("ask_data", "Can ask the data questions"),
        ]

    def __str__(self) -> str:
        return self.question[:80]

    @property
    def is_finished(self) -> bool:
        return self.status in {QuestionStatus.DONE, QuestionStatus.REFUSED, QuestionStatus.FAILED}

    @property
    def is_overdue(self) -> bool:
        """Still waiting long after any answer should have come (the llm worker may be down)."""
        return not self.is_finished and timezone.now() - self.created_at > dt.timedelta(minutes=OVERDUE_MINUTES)
