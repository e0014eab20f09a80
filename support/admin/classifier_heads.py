"""The classifier heads and the SLM's label calibrations in admin, with a "Retrain classifiers" button: both are
llm's, the examples they learn from are the desk's tickets, so the admin that retrains them lives here."""

from celery.result import AsyncResult
from django.contrib import admin, messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path
from django.views.decorators.http import require_POST

from llm.models import ClassifierHead, LabelCalibration
from support.services.classifier_heads import calibration_run_start
from support.tasks import classifiers_retrain_task

LAST_RETRAIN_KEY = "llm:classifiers-retrain:last-task"


@admin.register(ClassifierHead)
class ClassifierHeadAdmin(admin.ModelAdmin):
    """Trained heads, newest first per task, with a "Retrain classifiers" button (a task on the default queue)."""

    list_display = ["task", "version", "holdout_accuracy", "holdout_macro_f1", "train_size", "holdout_size", "created_at"]
    list_filter = ["task"]
    readonly_fields = [f.name for f in ClassifierHead._meta.fields]
    exclude = ["weights", "intercepts"]

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        return [path("retrain/", self.admin_site.admin_view(require_POST(self.retrain_view)), name="llm_classifierhead_retrain"),
                *super().get_urls()]

    def can_retrain(self, request) -> bool:
        return request.user.has_perm("llm.add_classifierhead")

    def retrain_view(self, request):
        if not self.can_retrain(request):
            raise PermissionDenied
        try:
            result = classifiers_retrain_task.delay()
        except Exception as exc:  # noqa: BLE001 - a broker that is down: say so, change nothing
            self.message_user(request, f"Retraining could not be queued (the task queue is not reachable: {exc}).", messages.ERROR)
        else:
            cache.set(LAST_RETRAIN_KEY, result.id, timeout=7 * 24 * 3600)
            self.message_user(request, "Retraining queued: the new versions appear here when it is done (about a minute).")
        return redirect("admin:llm_classifierhead_changelist")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_retrain": self.can_retrain(request), "last_retrain": self.last_retrain()}
        return super().changelist_view(request, extra_context=extra_context)

    @staticmethod
    def last_retrain() -> dict | None:
        """The state of the last retraining asked for here (from the Celery result backend)."""
        task_id = cache.get(LAST_RETRAIN_KEY)
        if not task_id:
            return None
        result = AsyncResult(task_id)
        try:
            state = result.state
            outcome = result.result if state in ("SUCCESS", "FAILURE") else None
        except Exception as exc:  # noqa: BLE001 - the result backend is down
            return {"state": "UNKNOWN", "error": f"result backend not reachable: {exc}"}
        if state == "FAILURE":
            return {"state": state, "error": f"{type(outcome).__name__}: {outcome}"}
        return {"state": state, "heads": outcome if state == "SUCCESS" else None}


@admin.register(LabelCalibration)
class LabelCalibrationAdmin(admin.ModelAdmin):
    """The SLM's label calibrations, read-only, with a "Recalibrate" button (steps on the llm worker, which reads
    every labelled ticket: minutes) or `manage.py train_classifiers`. Triage uses the newest one per task that
    matches its prompt, model and labels and beat the raw model on held-out folds."""

    list_display = ["task", "version", "model", "accuracy_before", "accuracy_after", "within_one_before", "within_one_after",
                    "head_weight", "level_bounds", "train_size", "created_at"]
    list_filter = ["task"]
    readonly_fields = [f.name for f in LabelCalibration._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [path("recalibrate/", self.admin_site.admin_view(require_POST(self.recalibrate_view)),
                     name="llm_labelcalibration_recalibrate"), *super().get_urls()]

    def can_recalibrate(self, request) -> bool:
        return request.user.has_perm("llm.add_labelcalibration")

    def recalibrate_view(self, request):
        if not self.can_recalibrate(request):
            raise PermissionDenied
        try:
            started = calibration_run_start()
        except Exception as exc:  # noqa: BLE001 - a broker that is down: say so, change nothing
            self.message_user(request, f"Recalibration could not be queued (the task queue is not reachable: {exc}).",
                              messages.ERROR)
        else:
            self.message_user(request, "Recalibration queued: the llm worker reads every labelled ticket (1-4 s each, a "
                                       "few at a time, between chat answers); the new versions appear here when it is done."
                              if started else "A recalibration is already running: its versions appear here when it is done.",
                              messages.INFO if started else messages.WARNING)
        return redirect("admin:llm_labelcalibration_changelist")

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_recalibrate": self.can_recalibrate(request)}
        return super().changelist_view(request, extra_context=extra_context)
