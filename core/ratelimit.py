"""A fixed-window rate limiter on the shared cache (Redis), for logins and chat messages."""

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


def client_ip(request) -> str:
    # Behind a proxy, set the proxy to overwrite REMOTE_ADDR (gunicorn --forwarded-allow-ips);
    # X-Forwarded-For is not trusted here because a client can forge it.
    return request.META.get("REMOTE_ADDR", "unknown")
