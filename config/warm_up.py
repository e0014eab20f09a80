"""Work a web process does once before it accepts requests (config/wsgi.py and config/asgi.py)."""

import logging


def query_encoder_warm() -> None:
    """Load the search query encoder now, in this web process, before it accepts a request: the
    first search after a start otherwise waits for the model (about 10 s on a busy 2-core
    machine). Only web servers import the wsgi/asgi modules (gunicorn imports one in each worker
    after the fork, runserver at start); workers and commands never do. /healthz shows the result.
    A failure is logged, not fatal: search then loads the model on first use and says why it could not."""
    from django.conf import settings

    if not settings.SEARCH_WARM_UP:
        return
    from eshop.selectors.search_query import search_query_encoder_warm

    log = logging.getLogger("config.warm_up")
    try:
        log.info("query encoder warm in %.1f s", search_query_encoder_warm())
    except Exception:  # noqa: BLE001 - the web process must still start; the health check reports it
        log.exception("query encoder warm-up failed")
