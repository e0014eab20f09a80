"""Issue 14: the job fields and status vocabulary shared through core.jobs (JobFields, JobStatus).

Renames keep the data (a knowledge document's index_status/index_error become status/error, a
ticket's ai_last_error becomes ai_error); the new fields are a chat turn's and a knowledge
document's run bookkeeping; the rest only take the shared definitions (help texts, the status
index and length). The old status values are mapped in 0011.
"""

from importlib import import_module

from django.db import migrations, models

# The analytics views of issue 13 (tickets, corrections, the reader role's grant), unchanged.
ANALYTICS_VIEWS = import_module("support.migrations.0008_issue13_question_attempts_views_without_text").VIEWS

JOB_STATUSES = [("pending", "Waiting"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")]


# The fields as core.jobs.job_fields defines them today (a migration keeps its own frozen copy).
def status(choices=JOB_STATUSES):
    return models.CharField(choices=choices, db_index=True, default="pending", max_length=10)


def attempts():
    return models.PositiveSmallIntegerField(default=0, help_text="Runs started (a killed worker's run counts).")


def error():
    return models.TextField(blank=True, help_text="Why the latest run failed, in plain words.")


def started_at():
    return models.DateTimeField(blank=True, help_text="When the latest run started.", null=True)


def finished_at():
    return models.DateTimeField(blank=True, help_text="When the latest run ended.", null=True)


ADDED = [("chatturn", "started_at", started_at), ("knowledgedocument", "attempts", attempts),
         ("knowledgedocument", "started_at", started_at), ("knowledgedocument", "finished_at", finished_at)]
ALTERED = [
    ("chatturn", "status", status), ("chatturn", "attempts", attempts), ("chatturn", "error", error),
    ("chatturn", "finished_at", finished_at),
    ("knowledgedocument", "status", status), ("knowledgedocument", "error", error),
    ("dataquestion", "status", lambda: status(JOB_STATUSES + [("refused", "Refused")])), ("dataquestion", "error", error),
    ("dataquestion", "finished_at", finished_at),
    ("ticket", "ai_attempts", attempts), ("ticket", "ai_error", error), ("ticket", "ai_started_at", started_at),
    ("ticket", "ai_finished_at", finished_at),
]


class Migration(migrations.Migration):
    dependencies = [("support", "0009_merge_issue12_issue13_issue15")]

    operations = [
        migrations.RenameField(model_name="knowledgedocument", old_name="index_error", new_name="error"),
        migrations.RenameField(model_name="knowledgedocument", old_name="index_status", new_name="status"),
        migrations.RenameField(model_name="ticket", old_name="ai_last_error", new_name="ai_error"),
        *[migrations.AddField(model_name=model, name=name, field=field()) for model, name, field in ADDED],
        *[migrations.AlterField(model_name=model, name=name, field=field()) for model, name, field in ALTERED],
        # ai_status widens to the shared length (8 -> 10); PostgreSQL changes no column type under a view.
        migrations.RunSQL("DROP VIEW IF EXISTS analytics.tickets;", reverse_sql=ANALYTICS_VIEWS),
        migrations.AlterField(model_name="ticket", name="ai_status", field=status()),
        migrations.RunSQL(ANALYTICS_VIEWS, reverse_sql="DROP VIEW IF EXISTS analytics.tickets;"),
    ]
