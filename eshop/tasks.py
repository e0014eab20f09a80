"""Celery tasks of the shop: thin, they take ids and call a service.

Named `embed_*` so that config/settings/celery.py routes them to the "embed" queue.
"""

from celery import shared_task

from eshop.services.embeddings import product_embed


@shared_task(name="eshop.tasks.embed_product", acks_late=True)
def embed_product(product_id: int) -> bool:
    """(Re)compute one product's embedding. Idempotent (content hash), so acks_late is safe;
    a product deleted meanwhile returns False without error."""
    return product_embed(product_id=product_id)
