"""The gunicorn worker class of the web server: uvicorn under gunicorn (`-k core.asgi_worker.WebWorker`).

Proxy headers are off: uvicorn would otherwise take X-Forwarded-For from any peer in gunicorn's
forwarded_allow_ips (127.0.0.1 by default, so every local client). The app reads the client address
in one place, core.ratelimit.client_ip, trusting only settings.TRUSTED_PROXIES.
"""

import asyncio
import re
import weakref

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


class BoundedRequests:
    """ASGI wrapper: at most `limit` ordinary requests of this process run at once (each takes a
    thread and a database connection, as gunicorn's 16 threads per worker did); more wait their
    turn instead of opening ever more PostgreSQL connections. Paths matching `unbounded` (the chat
    event streams, which hold neither while they wait) are not counted."""

    def __init__(self, app, *, limit: int, unbounded: re.Pattern):
        self.app, self.limit, self.unbounded = app, limit, unbounded
        self._gates: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # per event loop

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.unbounded.match(scope.get("path", "")):
            return await self.app(scope, receive, send)
        loop = asyncio.get_running_loop()
        gate = self._gates.get(loop)
        if gate is None:
            gate = self._gates[loop] = asyncio.Semaphore(self.limit)
        async with gate:
            return await self.app(scope, receive, send)
