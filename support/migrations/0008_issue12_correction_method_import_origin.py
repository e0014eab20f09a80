from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("support", "0007_merge_issue5"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticketcorrection",
            name="ai_method",
            field=models.CharField(blank=True, help_text="Category: the triage method that had set from_value.", max_length=20),
        ),
        migrations.AlterField(
            model_name="ticket",
            name="origin",
            field=models.CharField(choices=[("form", "Contact form"), ("chat", "Chat hand-off"), ("api", "API"),
                                            ("demo", "Demo data"), ("import", "Imported history")],
                                   default="form", max_length=8),
        ),
        migrations.AlterField(
            model_name="ticket",
            name="category_method",
            field=models.CharField(blank=True, help_text="slm, head, head+slm (+examples when similar labelled tickets were shown), agent or import.", max_length=20),
        ),
    ]
