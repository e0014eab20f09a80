"""With DATABASE_URL and REDIS_URL set, the app uses those servers and starts nothing."""

import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest
import redis

from core import embedded

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_app_uses_the_given_servers_and_starts_nothing(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    other = embedded.EmbeddedServices(root=Path(tempfile.mkdtemp(prefix="eshop-other-", dir="/tmp")), redis_port=port)
    embedded.ensure_started(other)
    unused_dir = tmp_path / "must-stay-empty"
    try:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.django.base",
            "DATABASE_URL": f"postgresql://postgres@/eshop?host={other.pg_socket_dir}",
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "EMBEDDED_SERVICES_DIR": str(unused_dir),
        }
        script = (
            "from django.db import connection; from django.core.cache import cache; "
            "cache.set('written-by-app', 'yes', 60); "
            "connection.cursor().execute('CREATE TABLE written_by_app (v int)'); "
            "connection.ensure_connection(); print(connection.connection.info.host)"
        )
        result = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c", script], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == str(other.pg_socket_dir)

        with psycopg.connect(f"host={other.pg_socket_dir} user=postgres dbname=eshop") as conn:
            assert conn.execute("SELECT to_regclass('written_by_app')").fetchone()[0] == "written_by_app"
        assert redis.Redis(port=port).keys("*written-by-app") != []
        assert not unused_dir.exists()
    finally:
        embedded.stop(other)
