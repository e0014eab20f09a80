from django.core.management.base import BaseCommand

from core.jobs import JobStatus
from support.models import KnowledgeDocument
from support.services.knowledge import document_index, document_reindex_request


class Command(BaseCommand):
    help = ("Index knowledge documents whose chunks are missing or stale: queued on the embed queue, or here "
            "with --now (no worker needed). --all rebuilds every document.")

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Every document, even those indexed (e.g. after a chunking change).")
        parser.add_argument("--now", action="store_true", help="Index in this process instead of queueing.")

    def handle(self, *args, all, now, **options):
        documents = KnowledgeDocument.objects.order_by("pk")
        if not all:
            documents = documents.exclude(status=JobStatus.DONE)
        documents = list(documents)
        for n, document in enumerate(documents, 1):
            if now:
                if all:
                    KnowledgeDocument.objects.filter(pk=document.pk).update(indexed_hash="")
                document_index(document_id=document.pk)
                self.stdout.write(f"  {n}/{len(documents)} indexed: {document.title}")
            else:
                document_reindex_request(document, force=all)
        if not now:
            self.stdout.write(f"{len(documents)} document(s) queued for indexing on the embed queue.")
