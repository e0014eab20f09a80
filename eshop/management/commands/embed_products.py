from django.core.management.base import BaseCommand

from eshop.services.embeddings import product_embed_stale


class Command(BaseCommand):
    help = "Compute missing or stale product embeddings in this process (batches of 64), without a worker."

    def handle(self, *args, **options):
        written = product_embed_stale(batch_size=64, progress=lambda done, total: self.stdout.write(f"  embedded {done}/{total}"))
        self.stdout.write(f"  product embeddings: {written} written")
