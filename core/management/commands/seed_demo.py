from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from eshop.services.accounts import demo_users_ensure
from eshop.services.catalog import CatalogImportError, catalog_import
from eshop.services.demo_orders import DemoOrdersError, demo_orders_ensure
from eshop.services.embeddings import product_embedding_schedule_missing
from support.selectors.tickets import triage_progress
from support.services.demo_tickets import DemoTicketsError, demo_history_ensure, demo_tickets_ensure
from support.services.knowledge import knowledge_demo_ensure, knowledge_index_pending


class Command(BaseCommand):
    help = "Load the demo shop (catalog, users; idempotent: a second run adds nothing twice)."

    def add_arguments(self, parser):
        parser.add_argument("--catalog-dir", default=settings.DEMO_CATALOG_DIR)

    def handle(self, *args, catalog_dir, **options):
        if settings.IS_PRODUCTION:
            raise CommandError("The demo shop is not loaded with APP_ENV=production: its users have published passwords. "
                               "Create an admin with `manage.py createsuperuser`.")
        directory = Path(catalog_dir)
        self.stdout.write(f"  catalog from {directory} ...")
        try:
            result = catalog_import(directory=directory)
        except CatalogImportError as exc:
            raise CommandError(f"Demo catalog could not be loaded: {exc}") from None
        self.stdout.write(
            f"  catalog: {result.categories_created} categories and {result.products_created} products added, "
            f"{result.products_updated} updated"
        )
        logins = demo_users_ensure()
        self.stdout.write(f"  demo users: {', '.join(login.email for login in logins)}")
        try:
            orders = demo_orders_ensure()
        except DemoOrdersError as exc:
            raise CommandError(f"Demo orders could not be loaded: {exc}") from None
        self.stdout.write(
            f"  demo orders: {orders.orders_created} added ({orders.orders_skipped} already there), "
            f"{orders.customers_created} demo customers added"
            + (f", {orders.orders_without_products} left out (products not in the catalog)" if orders.orders_without_products else "")
        )
        # The running worker's embed queue fills the vectors (search and related products use them).
        enqueued = product_embedding_schedule_missing()
        self.stdout.write(f"  product embeddings: {enqueued} enqueued on the embed queue (products without one)")
        try:
            tickets = demo_tickets_ensure()
        except DemoTicketsError as exc:
            raise CommandError(f"Demo tickets could not be loaded: {exc}") from None
        progress = triage_progress()
        self.stdout.write(
            f"  demo tickets: {tickets.created} added ({tickets.skipped} already there)"
            + (f", {tickets.without_customer} left out (customer missing)" if tickets.without_customer else "")
            + f"; AI triage: {progress.done} of {progress.total} done, {progress.waiting} waiting for the llm worker"
            + (f", {progress.failed} failed" if progress.failed else "")
            + " (follow it in the support desk or with `manage.py triage_tickets --status`)"
        )
        try:
            history = demo_history_ensure()
        except DemoTicketsError as exc:
            raise CommandError(f"Demo ticket history could not be loaded: {exc}") from None
        self.stdout.write(f"  demo ticket history: {history.created} labelled past tickets added "
                          f"({history.skipped} already there); triage learns from their labels "
                          "(`manage.py train_classifiers`, or beat within 10 minutes)")
        knowledge = knowledge_demo_ensure()
        queued = knowledge_index_pending()
        self.stdout.write(
            f"  knowledge base: {knowledge.created} documents added, {knowledge.updated} updated, {knowledge.unchanged} unchanged"
            + (f", manuals skipped (product not in the catalog): {', '.join(knowledge.skipped)}" if knowledge.skipped else "")
            + f"; {queued} queued for indexing on the embed queue"
        )
