"""Product embeddings: computed by the `embed` queue (eshop.tasks.embed_product), never in a web request."""

import hashlib
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.jobs import enqueue_on_commit, resend_stale
from eshop.models import Product

EMBEDDING_PENDING_STALE = timedelta(minutes=5)  # an embedding owed this long is sent again (idempotent)

# The fields the embedding is made from: a change to any of them makes the stored embedding stale.
EMBEDDING_SOURCE_FIELDS = frozenset({"brand", "model", "description", "category"})


def product_embedding_text(*, product: Product) -> str:
    """"brand model. category. description": what the vector (and its hash) is computed from."""
    return f"{product.brand} {product.model}. {product.category.name}. {product.description}"


def product_embedding_hash(*, text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def product_embed(*, product_id: int) -> bool:
    """Compute and store the embedding of one product; returns True when it was (re)written.

    Idempotent by content hash: when `embedding_hash` already matches the current text, nothing is
    computed or written. The row is locked (select_for_update) while it is written so two workers
    never interleave; a deleted product is a no-op (returns False). Loads the embedding model
    (worker processes and management commands only). Raises llm's errors if the model fails.
    """
    from llm.services.embed import embed_texts  # the model lives in worker processes only

    product = Product.objects.filter(pk=product_id).select_related("category").first()
    if product is None:
        return False
    text = product_embedding_text(product=product)
    digest = product_embedding_hash(text=text)
    if product.embedding_hash == digest and product.embedding is not None:
        return False
    vector = embed_texts(texts=[text])[0]  # computed outside the transaction: no lock held while the model runs
    with transaction.atomic():
        locked = Product.objects.select_for_update().filter(pk=product_id).select_related("category").first()
        if locked is None:
            return False
        # The text may have changed while we were encoding: store only a vector that matches the row now.
        if product_embedding_hash(text=product_embedding_text(product=locked)) != digest or locked.embedding_hash == digest:
            return False
        locked.embedding = vector
        locked.embedding_hash = digest
        locked.save(update_fields=["embedding", "embedding_hash"])
    return True


def product_embedding_schedule(*, product_ids) -> int:
    """Mark each product's embedding owed (embedding_hash cleared) and enqueue eshop.tasks.embed_product
    for it once the current transaction commits.

    Safe to call inside or outside a transaction; returns how many were scheduled. With the broker
    down the marks stay and product_embedding_sweep sends them later.
    """
    from eshop.tasks import embed_product

    ids = sorted(set(product_ids))
    Product.objects.filter(pk__in=ids).exclude(embedding_hash="").update(embedding_hash="")
    for product_id in ids:
        enqueue_on_commit(embed_product, product_id)
    return len(ids)


def product_embedding_sweep(*, older_than: timedelta = EMBEDDING_PENDING_STALE) -> int:
    """Send again the embedding of products still owed one (embedding_hash empty) after `older_than`.
    Beat runs it; embedding is idempotent. Returns how many were sent."""
    from eshop.tasks import embed_product

    owed = Product.objects.filter(embedding_hash="", updated_at__lt=timezone.now() - older_than)
    return resend_stale(owed, embed_product)


def product_embedding_schedule_missing() -> int:
    """Enqueue embedding of every product that has no embedding yet (e.g. after a fresh import)."""
    return product_embedding_schedule(product_ids=Product.objects.filter(embedding__isnull=True).values_list("pk", flat=True))


def product_embed_stale(*, batch_size: int = 64, progress=None) -> int:
    """Embed, in this process and in batches, every product whose embedding is missing or stale.

    For the `embed_products` command (a one-off backfill without a worker). Returns how many were
    written; `progress(done, total)` is called after each batch.
    """
    from llm.services.embed import embed_texts

    stale = []
    for product in Product.objects.select_related("category").order_by("pk"):
        text = product_embedding_text(product=product)
        digest = product_embedding_hash(text=text)
        if product.embedding is None or product.embedding_hash != digest:
            stale.append((product, text, digest))
    written = 0
    for start in range(0, len(stale), batch_size):
        batch = stale[start:start + batch_size]
        vectors = embed_texts(texts=[text for _, text, _ in batch], batch_size=batch_size)
        for (product, _, digest), vector in zip(batch, vectors, strict=True):
            product.embedding, product.embedding_hash = vector, digest
        with transaction.atomic():
            Product.objects.bulk_update([product for product, _, _ in batch], ["embedding", "embedding_hash"])
        written += len(batch)
        if progress is not None:
            progress(written, len(stale))
    return written
