from django.core.management.base import BaseCommand, CommandError

from llm.models import ClassifierHead
from support.services.classifier_heads import classifier_heads_retrain


class Command(BaseCommand):
    help = "Fit the classifier heads on labelled tickets, store them as new versions, report holdout accuracy."

    def add_arguments(self, parser):
        parser.add_argument("--task", choices=ClassifierHead.Task.values, action="append",
                            help="Train only this head (repeatable); default: all.")

    def handle(self, *args, task, **options):
        self.stdout.write(f"  embedding labelled tickets and fitting: {', '.join(task or ClassifierHead.Task.values)} ...")
        results = classifier_heads_retrain(tasks=task)
        for head in results:
            if "error" in head:
                continue
            self.stdout.write(self.style.SUCCESS(
                f"  {head['task']} v{head['version']}: holdout accuracy {head['holdout_accuracy']:.2f}, macro-F1 {head['holdout_macro_f1']:.2f} "
                f"({head['holdout_size']} held out, {head['train_size']} trained; labels: {', '.join(head['labels'])})"))
        errors = [f"{head['task']}: {head['error']}" for head in results if "error" in head]
        if errors:
            raise CommandError("; ".join(errors))
