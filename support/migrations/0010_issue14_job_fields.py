"""Issue 14: the job fields and status vocabulary shared through core.jobs (JobFields, JobStatus).

Renames keep the data (a knowledge document's index_status/index_error become status/error, a
ticket's ai_last_error becomes ai_error); the new fields are a chat turn's and a knowledge
document's run bookkeeping. The old status values are mapped in 0011.
"""

from importlib import import_module

from django.db import migrations, models

# The analytics views of issue 13 (tickets, corrections, the reader role's grant), unchanged.
ANALYTICS_VIEWS = import_module("support.migrations.0008_issue13_question_attempts_views_without_text").VIEWS


class Migration(migrations.Migration):

    dependencies = [
        ('support', '0009_merge_issue12_issue13_issue15'),
    ]

    operations = [
        migrations.RenameField(model_name='knowledgedocument', old_name='index_error', new_name='error'),
        migrations.RenameField(model_name='knowledgedocument', old_name='index_status', new_name='status'),
        migrations.RenameField(model_name='ticket', old_name='ai_last_error', new_name='ai_error'),
        migrations.AddField(
            model_name='chatturn',
            name='started_at',
            field=models.DateTimeField(blank=True, help_text='When the latest run started.', null=True),
        ),
        migrations.AddField(
            model_name='knowledgedocument',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0, help_text="Runs started (a killed worker's run counts)."),
        ),
        migrations.AlterField(
            model_name='knowledgedocument',
            name='error',
            field=models.TextField(blank=True, help_text='Why the latest run failed, in plain words.'),
        ),
        migrations.AddField(
            model_name='knowledgedocument',
            name='finished_at',
            field=models.DateTimeField(blank=True, help_text='When the latest run ended.', null=True),
        ),
        migrations.AddField(
            model_name='knowledgedocument',
            name='started_at',
            field=models.DateTimeField(blank=True, help_text='When the latest run started.', null=True),
        ),
        migrations.AlterField(
            model_name='knowledgedocument',
            name='status',
            field=models.CharField(choices=[('pending', 'Waiting'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], db_index=True, default='pending', max_length=10),
        ),
        migrations.AlterField(
            model_name='ticket',
            name='ai_error',
            field=models.TextField(blank=True, help_text='Why the latest run failed, in plain words.'),
        ),
        migrations.AlterField(
            model_name='chatturn',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0, help_text="Runs started (a killed worker's run counts)."),
        ),
        migrations.AlterField(
            model_name='chatturn',
            name='error',
            field=models.TextField(blank=True, help_text='Why the latest run failed, in plain words.'),
        ),
        migrations.AlterField(
            model_name='chatturn',
            name='finished_at',
            field=models.DateTimeField(blank=True, help_text='When the latest run ended.', null=True),
        ),
        migrations.AlterField(
            model_name='chatturn',
            name='status',
            field=models.CharField(choices=[('pending', 'Waiting'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], db_index=True, default='pending', max_length=10),
        ),
        migrations.AlterField(
            model_name='dataquestion',
            name='error',
            field=models.TextField(blank=True, help_text='Why the latest run failed, in plain words.'),
        ),
        migrations.AlterField(
            model_name='dataquestion',
            name='finished_at',
            field=models.DateTimeField(blank=True, help_text='When the latest run ended.', null=True),
        ),
        migrations.AlterField(
            model_name='dataquestion',
            name='status',
            field=models.CharField(choices=[('pending', 'Waiting'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed'), ('refused', 'Refused')], db_index=True, default='pending', max_length=10),
        ),
        migrations.AlterField(
            model_name='ticket',
            name='ai_attempts',
            field=models.PositiveSmallIntegerField(default=0, help_text="Runs started (a killed worker's run counts)."),
        ),
        migrations.AlterField(
            model_name='ticket',
            name='ai_finished_at',
            field=models.DateTimeField(blank=True, help_text='When the latest run ended.', null=True),
        ),
        migrations.AlterField(
            model_name='ticket',
            name='ai_started_at',
            field=models.DateTimeField(blank=True, help_text='When the latest run started.', null=True),
        ),
        # ai_status widens to the shared length (8 -> 10); PostgreSQL changes no column type under a view.
        migrations.RunSQL("DROP VIEW IF EXISTS analytics.tickets;", reverse_sql=ANALYTICS_VIEWS),
        migrations.AlterField(
            model_name='ticket',
            name='ai_status',
            field=models.CharField(choices=[('pending', 'Waiting'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], db_index=True, default='pending', max_length=10),
        ),
        migrations.RunSQL(ANALYTICS_VIEWS, reverse_sql="DROP VIEW IF EXISTS analytics.tickets;"),
    ]
