from django.db import migrations, models
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        # Every app that stores vectors depends on this migration.
        VectorExtension(),
        migrations.CreateModel(
            name="QueueHeartbeat",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("queue", models.CharField(max_length=32, unique=True)),
                ("worker", models.CharField(max_length=200)),
                ("seen_at", models.DateTimeField()),
                ("beats", models.PositiveIntegerField(default=0)),
            ],
        ),
    ]
