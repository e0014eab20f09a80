"""The gunicorn worker class of the web server: uvicorn under gunicorn (`-k core.asgi_worker.WebWorker`).

Proxy headers are off: uvicorn would otherwise take X-Forwarded-For from any peer in gunicorn's
forwarded_allow_ips (127.0.0.1 by default, so every local client). The app reads the client address
in one place, core.ratelimit.client_ip, trusting only settings.TRUSTED_PROXIES.
"""

import asyncio
import re
import weakref

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from uvicorn_worker import UvicornWorker


class WebWorker(UvicornWorker):
    CONFIG_KWARGS = {"loop": "asyncio", "http": "h11", "lifespan": "off", "proxy_headers": False}


# An idle keep-alive connection stays open this long. gunicorn's default, 2 s, is what uvicorn workers take, and a
# shopper's next page comes about as soon: a request sent on a connection the server is closing at that moment ends
# in "connection reset" (seen in `bench --part load`, whose shoppers wait 0.5-2 s: 1 at 20 users, 3 in a run at 10).
WEB_KEEP_ALIVE_SECONDS = 20


def web_server_args(*, bind: str, workers: int = 2) -> list[str]:
    """gunicorn's arguments for the web server, as `make run` and `manage.py bench --part streams`
    start it (the Dockerfile's CMD says the same; a test keeps them equal)."""
    return ["config.asgi:application", "--bind", bind, "--worker-class", "core.asgi_worker.WebWorker",
            "--workers", str(workers), "--timeout", "120", "--graceful-timeout", "10", "--keep-alive", str(WEB_KEEP_ALIVE_SECONDS)]


class OneThreadASGIHandler(ASGIHandler):
    """Django's ASGI handler for ordinary (sync) views: the whole middleware chain and the view of a request run in
    one go in the request's thread, as under WSGI.

    The stock handler runs Django's sync middleware in async mode: each middleware's process_request and
    process_response hops from the event loop to the request's thread and back, some 15 hops per page. On two busy
    cores that cost 6-9 ms of a 10-20 ms page (in-process, the same pages through the stock handler and this one).
    Async views (the chat's event streams) go to the stock handler (see config/asgi.py); one reaching this one still
    works, run to the end in a thread (Django's sync path wraps it).
    """

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


class BoundedRequests:
    """ASGI wrapper: at most `limit` ordinary requests of this process run at once (each takes a
    thread and a database connection, as gunicorn's 16 threads per worker did); more wait their
    turn instead of opening ever more PostgreSQL connections. Paths matching `unbounded` (the chat
    event streams, which hold neither while they wait) are not counted, and go to `unbounded_app`
    when one is given (the stock ASGI handler, which runs async views on the event loop)."""

    def __init__(self, app, *, limit: int, unbounded: re.Pattern, unbounded_app=None):
        self.app, self.limit, self.unbounded = app, limit, unbounded
        self.unbounded_app = unbounded_app or app
        self._gates: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per event loop

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.unbounded.match(scope.get("path", "")):
            return await self.unbounded_app(scope, receive, send)
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(self.limit)
        async with gate:
            return await self.app(scope, receive, send)
