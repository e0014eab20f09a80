"""Celery tasks of the shop: thin, they take ids and call a service.

Named `embed_*` so that config/settings/celery.py routes them to the "embed" queue.
"""

from celery import shared_task

from eshop.services.embeddings import product_embed, product_embedding_sweep


@shared_task(name="eshop.tasks.embed_product", acks_late=True)
def embed_product(product_id: int) -> bool:
    """(Re)compute one product's embedding. Idempotent (content hash), so acks_late is safe;
    a product deleted meanwhile returns False without error."""
    return product_embed(product_id=product_id)


@shared_task(name="eshop.tasks.sweep_owed_product_embeddings", ignore_result=True)
def sweep_owed_product_embeddings() -> int:
    """Beat: send again product embeddings that never reached the broker (see product_embedding_sweep)."""
    return product_embedding_sweep()
