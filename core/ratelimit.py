"""Abuse limits, all keyed on one notion of who the client is (client_ip):

- rate_limit_exceeded: a fixed-window counter on the shared cache (Redis), for logins and chat questions;
- login_attempt_limited: the sign-in limits of the shop and the admin (IP + account, and IP alone);
- stream_slots: how many long-lived responses (event streams, JSON waits) one turn, session or IP
  may hold open at once (Redis counters with an expiry, released when the response ends).
"""

import ipaddress
from contextlib import asynccontextmanager
from functools import lru_cache

import redis.asyncio as aioredis
from django.conf import settings
from django.core.cache import cache


def rate_limit_exceeded(*, key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit for `key`; True when this hit is over `limit` within the window."""
    cache_key = f"ratelimit:{key}"
    if cache.add(cache_key, 1, timeout=window_seconds):
        return 1 > limit
    try:
        return cache.incr(cache_key) > limit
    except ValueError:  # expired between add() and incr()
        cache.set(cache_key, 1, timeout=window_seconds)
        return False


# --- who the client is ---------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted)


def _is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request) -> str:
    """The client's address: REMOTE_ADDR, unless that is a trusted proxy (settings.TRUSTED_PROXIES);
    then X-Forwarded-For is read from the right, skipping trusted proxies, and the first address not
    trusted is the client. Whatever a client writes further left in the header is never used, so a
    forged X-Forwarded-For changes nothing. Every limiter (and the DRF throttles) uses this."""
    remote = request.META.get("REMOTE_ADDR") or "unknown"
    if not settings.TRUSTED_PROXIES or not _is_trusted(remote):
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    for address in reversed(forwarded):
        if not _is_trusted(address):
            try:
                return str(ipaddress.ip_address(address))
            except ValueError:
                return remote  # garbage where an address should be: count it on the proxy
    return forwarded[0] if forwarded else remote


# --- sign-in --------------------------------------------------------------------------------------

def login_attempt_limited(request, *, account: str) -> bool:
    """Count one sign-in attempt; True when it is over a limit. Keyed on client IP + account (so a
    stranger failing from elsewhere cannot lock a known account out) and on the client IP alone
    (a wider limit, against trying many accounts from one place)."""
    ip = client_ip(request)
    account = (account or "").strip().lower()[:254]
    window = settings.LOGIN_RATE_WINDOW
    limited = rate_limit_exceeded(key=f"login:ip:{ip}", limit=settings.LOGIN_RATE_LIMIT_PER_IP, window_seconds=window)
    if account:
        limited |= rate_limit_exceeded(key=f"login:ip-account:{ip}:{account}", limit=settings.LOGIN_RATE_LIMIT,
                                       window_seconds=window)
    return limited


# --- concurrent long-lived responses -------------------------------------------------------------

class TooManyStreams(Exception):
    """More open streams than allowed; the message names which limit."""


def async_redis() -> aioredis.Redis:
    """A Redis client for the running event loop (one per stream: an asyncio client is tied to its loop)."""
    return aioredis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3, socket_timeout=10)


@asynccontextmanager
async def stream_slots(client: aioredis.Redis, limits: dict[str, int], *, ttl_seconds: int):
    """Hold one slot under each key of `limits` ({key: cap}) while the block runs; raise
    TooManyStreams (taking nothing) when a cap is full. Counters expire after `ttl_seconds`, so a
    process killed mid-stream cannot leave slots taken for good."""
    taken: list[str] = []
    try:
        for key, cap in limits.items():
            name = f"streams:{key}"
            pipe = client.pipeline(transaction=True)
            pipe.incr(name).expire(name, ttl_seconds)
            count, _ = await pipe.execute()
            taken.append(name)
            if count > cap:
                raise TooManyStreams(key.split(":", 1)[0])
        yield
    finally:
        for name in taken:
            await client.decr(name)
