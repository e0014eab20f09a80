"""The web server's entry point: gunicorn with uvicorn workers (core.asgi_worker.WebWorker), so the
chat's event streams (async views) wait on sockets, not threads; ordinary views run in a thread
each, as Django does under ASGI, at most WEB_REQUESTS_PER_WORKER at once per process."""

import os
import re

from django.core.asgi import get_asgi_application

from config.env import env_int
from config.warm_up import query_encoder_warm
from core.asgi_worker import BoundedRequests

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.django.base")
# Under ASGI each request's sync code runs in a thread of its own, which ends with the request: a
# persistent connection would be left open in a dead thread. One connection per request instead.
os.environ.setdefault("DB_CONN_MAX_AGE", "0")

application = BoundedRequests(get_asgi_application(), limit=env_int("WEB_REQUESTS_PER_WORKER", 16),
                              unbounded=re.compile(r"^/api/support/chat/turns/\d+/events/$"))
query_encoder_warm()  # before the first request, as under WSGI (config/warm_up.py)
