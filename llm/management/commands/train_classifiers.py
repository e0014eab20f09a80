from django.core.management.base import BaseCommand, CommandError

from llm.models import ClassifierHead
from llm.services.common import LLMInputError
from llm.services.heads import classifier_head_train
from support.selectors import ticket_training_examples


class Command(BaseCommand):
    help = "Fit the classifier heads on labelled tickets, store them as new versions, report holdout accuracy."

    def add_arguments(self, parser):
        parser.add_argument("--task", choices=ClassifierHead.Task.values, action="append",
                            help="Train only this head (repeatable); default: all.")

    def handle(self, *args, task, **options):
        for name in task or ClassifierHead.Task.values:
            examples = ticket_training_examples(task=name)
            self.stdout.write(f"  {name}: {len(examples)} labelled examples, embedding and fitting ...")
            try:
                head = classifier_head_train(task=name, examples=examples)
            except LLMInputError as exc:
                raise CommandError(f"{name}: {exc}") from None
            self.stdout.write(self.style.SUCCESS(
                f"  {name} v{head.version}: holdout accuracy {head.holdout_accuracy:.2f}, macro-F1 {head.holdout_macro_f1:.2f} "
                f"({head.holdout_size} held out, {head.train_size} trained; labels: {', '.join(head.labels)})"))
