from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0008_issue12_correction_method_import_origin"),
        ("support", "0008_issue13_question_attempts_views_without_text"),
        ("support", "0008_issue15_chunk_general_hnsw"),
    ]

    operations = []
