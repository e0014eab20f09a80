from django.core.management.base import BaseCommand, CommandError

from support.services.ticket_import import IMPORT_CUSTOMER_EMAIL, TicketImportError, tickets_import


class Command(BaseCommand):
    help = ("Import labelled ticket history from FILE.json or FILE.csv (format: support/services/ticket_import.py). "
            "All rows are checked first; with any bad row nothing is imported.")

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--customer-email", default=IMPORT_CUSTOMER_EMAIL,
                            help="The account the imported tickets belong to (created without a password).")

    def handle(self, *args, file, customer_email, **options):
        try:
            count = tickets_import(path=file, customer_email=customer_email)
        except TicketImportError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"Imported {count} tickets; their embeddings are computed by the embed queue."))
