"""Test settings: the tests' own embedded PostgreSQL and Redis, never the demo data.

The embedded pair lives under var/test-services (TEST_EMBEDDED_SERVICES_DIR) with Redis on
port 6392 (TEST_EMBEDDED_REDIS_PORT); with DATABASE_URL set, pytest-django still creates its own
test_ database on that server.
"""

import os
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
os.environ["EMBEDDED_SERVICES_DIR"] = os.environ.get("TEST_EMBEDDED_SERVICES_DIR", str(_ROOT / "var" / "test-services"))
os.environ["EMBEDDED_REDIS_PORT"] = os.environ.get("TEST_EMBEDDED_REDIS_PORT", "6392")

from config.django.base import *  # noqa: E402,F401,F403
from config.django.base import CACHES, EMBEDDED_SERVICES_DIR, REST_FRAMEWORK  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast: tests create many users
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES["default"]["KEY_PREFIX"] = "test-cache"
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"anon": "1000/minute", "user": "1000/minute"}
CELERY_BEAT_SCHEDULE_FILENAME = str(EMBEDDED_SERVICES_DIR / "celerybeat-schedule")
MEDIA_ROOT = EMBEDDED_SERVICES_DIR / "media"

# A worker started by the tests must use the database pytest-django created (test_<name>).
if os.environ.get("TEST_WORKER_DATABASE_NAME"):
    DATABASES["default"]["NAME"] = os.environ["TEST_WORKER_DATABASE_NAME"]  # noqa: F405
