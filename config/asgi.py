"""The web server's entry point: gunicorn with uvicorn workers (core.asgi_worker.WebWorker), so the
chat's event streams (async views, Django's stock ASGI handler) wait on sockets, not threads; every
other request runs its middleware and view in one thread of its own (core.asgi_worker.OneThreadASGIHandler),
at most WEB_REQUESTS_PER_WORKER at once per process."""

import os
import re

from django.core.asgi import get_asgi_application

from config.env import env_int
from config.warm_up import pages_warm, query_encoder_warm
from core.asgi_worker import BoundedRequests, OneThreadASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.django.base")
# Under ASGI each request's sync code runs in a thread of its own, which ends with the request: a
# persistent connection would be left open in a dead thread. Requests borrow one from a pool of as
# many connections as requests run at once (config/settings/services.py).
WEB_REQUESTS_PER_WORKER = env_int("WEB_REQUESTS_PER_WORKER", 16)
os.environ.setdefault("DB_POOL_MAX_SIZE", str(WEB_REQUESTS_PER_WORKER))

event_streams = get_asgi_application()  # sets Django up
application = BoundedRequests(OneThreadASGIHandler(), limit=WEB_REQUESTS_PER_WORKER,
                              unbounded=re.compile(r"^/api/support/chat/turns/\d+/events/$"), unbounded_app=event_streams)
query_encoder_warm()  # before the first request, as under WSGI (config/warm_up.py)
pages_warm()
