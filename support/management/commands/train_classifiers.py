from django.core.management.base import BaseCommand, CommandError

from llm.models import ClassifierHead
from support.services.classifier_heads import classifier_heads_retrain, label_calibrations_refit


class Command(BaseCommand):
    help = ("Fit the classifier heads on labelled tickets and calibrate the SLM's category and attitude readings "
            "against them; store each as a new version and report its accuracy.")

    def add_arguments(self, parser):
        parser.add_argument("--task", choices=ClassifierHead.Task.values, action="append",
                            help="Train only this head and calibration (repeatable); default: all.")
        parser.add_argument("--no-calibration", action="store_true",
                            help="Heads only: the calibration has the SLM read every labelled ticket (1-4 s each).")

    def handle(self, *args, task, no_calibration, **options):
        self.stdout.write(f"  embedding labelled tickets and fitting: {', '.join(task or ClassifierHead.Task.values)} ...")
        errors = []
        for head in classifier_heads_retrain(tasks=task):
            if "error" in head:
                errors.append(f"{head['task']} head: {head['error']}")
                continue
            self.stdout.write(self.style.SUCCESS(
                f"  {head['task']} v{head['version']}: holdout accuracy {head['holdout_accuracy']:.2f}, macro-F1 {head['holdout_macro_f1']:.2f} "
                f"({head['holdout_size']} held out, {head['train_size']} trained; labels: {', '.join(head['labels'])})"))
        if not no_calibration:
            self.stdout.write("  calibrating the SLM's readings on the labelled tickets (the model reads each one) ...")
            for calibration in label_calibrations_refit(tasks=task, progress=self.stdout.write):
                if "error" in calibration:
                    errors.append(f"{calibration['task']} calibration: {calibration['error']}")
                    continue
                used = "used" if calibration["used"] else "not used (no gain)"
                if calibration["within_one_after"] is not None:
                    used = (f"within one level {calibration['within_one_before']:.2f} raw, "
                            f"{calibration['within_one_after']:.2f} calibrated; {used}")
                self.stdout.write(self.style.SUCCESS(
                    f"  {calibration['task']} calibration v{calibration['version']}: accuracy on held-out folds "
                    f"{calibration['accuracy_before']:.2f} raw, {calibration['accuracy_after']:.2f} calibrated "
                    f"({calibration['train_size']} tickets; "
                    + (f"level bounds {calibration['level_bounds']}" if calibration.get("level_bounds")
                       else f"the head's weight {calibration['head_weight']}") + f"), {used}"))
        if errors:
            raise CommandError("; ".join(errors))
