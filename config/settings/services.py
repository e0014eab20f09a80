"""Database, Redis and cache: the given servers when DATABASE_URL / REDIS_URL are set, else the
embedded ones under EMBEDDED_SERVICES_DIR (see core/embedded.py)."""

from pathlib import Path

import dj_database_url

from config.env import env_int, env_str
from core.embedded import EmbeddedServices

BASE_DIR = Path(__file__).resolve().parent.parent.parent

EMBEDDED_SERVICES_DIR = Path(env_str("EMBEDDED_SERVICES_DIR", str(BASE_DIR / "var" / "services")))
EMBEDDED_REDIS_PORT = env_int("EMBEDDED_REDIS_PORT", 6391)
_embedded = EmbeddedServices(root=EMBEDDED_SERVICES_DIR, redis_port=EMBEDDED_REDIS_PORT)

DATABASE_URL = env_str("DATABASE_URL")
DB_CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 60)
# The ASGI web server (config/asgi.py) sets DB_POOL_MAX_SIZE: there each request's sync code runs in a thread of its
# own that ends with the request, so a persistent connection would be left in a dead thread. Its requests borrow a
# connection from a psycopg pool of this many per process instead (Django's "pool" option) and give it back at the
# end: opening one per request (a new PostgreSQL backend, its catalog caches cold) cost more than some pages' queries.
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 0)
if DB_POOL_MAX_SIZE:
    DB_CONN_MAX_AGE = 0  # Django: a pooled connection is never kept by the thread
USES_EMBEDDED_POSTGRES = not DATABASE_URL
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE, conn_health_checks=True)}
else:
    DATABASES = {"default": {**_embedded.database_settings(), "CONN_MAX_AGE": DB_CONN_MAX_AGE, "CONN_HEALTH_CHECKS": True}}
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
if DB_POOL_MAX_SIZE:
    # timeout: how long a request waits for a connection before it fails (a 500, logged). A free one is there at
    # once (the web server runs at most as many requests as the pool holds); the wait is for a database that is
    # down, which the pool retries behind the scenes: with 10 s a page took 10 s to fail and /healthz 21 s.
    DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 1, "max_size": DB_POOL_MAX_SIZE, "timeout": 3}
# pgvector's HNSW search breadth for every query of the app (pgvector's default is 40): recall@10
# against exact search at 100k knowledge chunks is measured by `bench --part scale`.
HNSW_EF_SEARCH = env_int("HNSW_EF_SEARCH", 200)
DATABASES["default"]["OPTIONS"].setdefault("options", f"-c hnsw.ef_search={HNSW_EF_SEARCH}")

REDIS_URL = env_str("REDIS_URL") or _embedded.redis_url
USES_EMBEDDED_REDIS = not env_str("REDIS_URL")

# The cache may live in its own Redis database (REDIS_CACHE_URL, docker-compose: /1), apart from
# the broker's queues, so a cache flush or eviction never touches them.
REDIS_CACHE_URL = env_str("REDIS_CACHE_URL") or REDIS_URL
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_CACHE_URL,
        "KEY_PREFIX": "cache",
        "TIMEOUT": 300,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5},
    }
}
