"""Low: production settings and deployment files. On today's main APP_ENV=production had no HTTPS
redirect, proxy header or HSTS; docker-compose connected as the Postgres superuser, Redis had no
memory cap and the cache shared the broker's database; the demo admin with its published password
could be created and used in production."""

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from eshop.services.accounts import DEMO_LOGINS, DemoUsersRefused, demo_users_ensure

ROOT = Path(__file__).resolve().parents[2]


def _production_settings() -> dict:
    code = ("import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({name: getattr(s, name, None) "
            "for name in ['SECURE_PROXY_SSL_HEADER', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SESSION_COOKIE_SECURE', "
            "'CSRF_COOKIE_SECURE', 'SECURE_REDIRECT_EXEMPT']}))")
    env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": "test-only-production-key", "DJANGO_SETTINGS_MODULE": "config.django.base"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_redirects_to_https_behind_the_proxy_and_sets_hsts():
    values = _production_settings()

    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SECURE_SSL_REDIRECT"] is True and values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_REDIRECT_EXEMPT"] == ["^healthz$"]  # the container's health probe speaks HTTP


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_connects_as_an_app_role_not_the_postgres_superuser():
    compose = _compose()
    database_url = compose["x-app"]["environment"]["DATABASE_URL"]
    postgres = compose["services"]["postgres"]["environment"]

    assert database_url.startswith(f"postgresql://{postgres['APP_DB_USER']}:")
    assert postgres["APP_DB_USER"] != postgres["POSTGRES_USER"]
    init = compose["services"]["postgres"]["volumes"]
    assert "./deploy/postgres-init:/docker-entrypoint-initdb.d:ro" in init
    script = (ROOT / "deploy" / "postgres-init" / "01-app-role.sh").read_text()
    assert "NOSUPERUSER" in script and "CREATE EXTENSION IF NOT EXISTS vector" in script


def test_compose_caps_redis_memory_and_keeps_the_cache_in_its_own_database():
    compose = _compose()
    command = compose["services"]["redis"]["command"]
    environment = compose["x-app"]["environment"]

    assert "--maxmemory" in command and command[command.index("--maxmemory-policy") + 1] == "volatile-lru"
    assert urlparse(environment["REDIS_CACHE_URL"]).path != urlparse(environment["REDIS_URL"]).path


def test_the_production_image_serves_with_uvicorn_workers():
    cmd = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD"))

    assert json.loads(cmd.removeprefix("CMD").strip())[:2] == ["gunicorn", "config.asgi:application"]
    assert "core.asgi_worker.WebWorker" in cmd


def test_the_production_image_starts_the_web_server_as_make_run_does():
    from core.asgi_worker import web_server_args

    cmd = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD"))

    assert json.loads(cmd.removeprefix("CMD").strip()) == ["gunicorn", *web_server_args(bind="0.0.0.0:8000")]


@pytest.mark.django_db
def test_the_demo_users_are_not_created_in_production(settings):
    settings.IS_PRODUCTION = True

    with pytest.raises(DemoUsersRefused):
        demo_users_ensure()
    with pytest.raises(CommandError, match="APP_ENV=production"):
        call_command("seed_demo")


@pytest.mark.django_db
def test_a_published_demo_password_signs_nobody_in_in_production(settings):
    demo_users_ensure()  # made earlier, e.g. before the switch to production
    admin = next(login for login in DEMO_LOGINS if login.role == "admin")
    assert authenticate(username=admin.email, password=admin.password) is not None

    settings.IS_PRODUCTION = True

    assert authenticate(username=admin.email, password=admin.password) is None
