from django.conf import settings
from django.db import migrations


def create_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=settings.SUPPORT_AGENTS_GROUP)


class Migration(migrations.Migration):
    dependencies = [("eshop", "0001_initial")]
    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
