from django.contrib import admin

from llm.models import ClassifierHead


@admin.register(ClassifierHead)
class ClassifierHeadAdmin(admin.ModelAdmin):
    list_display = ["task", "version", "holdout_accuracy", "holdout_macro_f1", "train_size", "holdout_size", "created_at"]
    list_filter = ["task"]
    readonly_fields = [f.name for f in ClassifierHead._meta.fields]
    exclude = ["weights", "intercepts"]

    def has_add_permission(self, request):
        return False
