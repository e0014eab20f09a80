"""Issue 14: the old per-model status values in the one job vocabulary (core.jobs.JobStatus).

A chat turn's "streaming" and a knowledge document's "indexing" are "running"; "indexed" is
"done". Tickets (pending/running/done/failed) and data questions (the same and "refused") already
spoke it. Reversible: running maps back to each model's old word, done back to "indexed".
"""

from django.db import migrations

# (model, old value, new value)
RENAMED_VALUES = [
    ("chatturn", "streaming", "running"),
    ("knowledgedocument", "indexing", "running"),
    ("knowledgedocument", "indexed", "done"),
]


def _rename(apps, pairs):
    for model, old, new in pairs:
        apps.get_model("support", model).objects.filter(status=old).update(status=new)


def forwards(apps, schema_editor):
    _rename(apps, RENAMED_VALUES)


def backwards(apps, schema_editor):
    _rename(apps, [(model, new, old) for model, old, new in RENAMED_VALUES])


class Migration(migrations.Migration):
    dependencies = [("support", "0010_issue14_job_fields")]

    operations = [migrations.RunPython(forwards, backwards)]
