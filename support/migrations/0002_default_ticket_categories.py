import json
from pathlib import Path

from django.db import migrations

SEED = Path(__file__).resolve().parent.parent / "demo_data" / "ticket_categories.json"


def seed(apps, schema_editor):
    TicketCategory = apps.get_model("support", "TicketCategory")
    for row in json.loads(SEED.read_text()):
        TicketCategory.objects.get_or_create(slug=row["slug"], defaults={"name": row["name"], "description": row["description"]})


class Migration(migrations.Migration):
    dependencies = [("support", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
