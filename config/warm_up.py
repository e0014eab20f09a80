"""Work a web process does once before it accepts requests (config/wsgi.py and config/asgi.py)."""

import logging
import time

log = logging.getLogger("config.warm_up")


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

    try:
        log.info("query encoder warm in %.1f s", search_query_encoder_warm())
    except Exception:  # noqa: BLE001 - the web process must still start; the health check reports it
        log.exception("query encoder warm-up failed")


def pages_warm() -> float:
    """Do now what a web process's first request would otherwise do once: import the URLconf and every view
    module it names, build the URL reversing tables (the home page reverses 87 URLs), and compile the
    project's templates (Django keeps them compiled per process). Measured in-process in a fresh process, the
    first home page took 368-411 ms and the second 92-118 ms (about 190 ms of the first went to importing the
    URLconf and 150 ms to building the reversing tables); after this warm-up, 60-65 ms and 15-20 ms. Returns the
    seconds it took; a failure is logged, not fatal."""
    from pathlib import Path

    from django.conf import settings
    from django.template.loader import get_template
    from django.urls import reverse

    started = time.monotonic()
    try:
        reverse("home")  # imports the URLconf and populates the resolver
        for folder in settings.TEMPLATES[0]["DIRS"]:
            for path in sorted(Path(folder).rglob("*.html")):
                get_template(str(path.relative_to(folder)))
    except Exception:  # noqa: BLE001 - the first request then does it, and shows the error if there is one
        log.exception("page warm-up failed")
    seconds = time.monotonic() - started
    log.info("pages warm in %.2f s", seconds)
    return seconds
