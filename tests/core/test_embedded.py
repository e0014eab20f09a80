"""The embedded PostgreSQL + Redis pair: start, reuse, stop, and clear errors."""

import socket
import tempfile
from pathlib import Path

import psycopg
import pytest
import redis

from core import embedded

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def second_pair():
    root = Path(tempfile.mkdtemp(prefix="eshop-svc-", dir="/tmp"))
    services = embedded.EmbeddedServices(root=root, redis_port=_free_port())
    yield services
    embedded.stop(services)


def test_start_is_idempotent_and_stop_is_clean(second_pair):
    assert embedded.ensure_started(second_pair) == ["postgres", "redis"]
    assert embedded.ensure_started(second_pair) == []  # reuses what runs

    with psycopg.connect(f"host={second_pair.pg_socket_dir} user=postgres dbname=eshop") as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        assert conn.execute("SELECT '[1,2,3]'::vector <=> '[1,2,3]'::vector").fetchone()[0] == 0
    assert redis.Redis(port=second_pair.redis_port).ping()

    assert embedded.stop(second_pair) == ["redis", "postgres"]
    assert not embedded.postgres_is_running(second_pair)
    assert not embedded.redis_is_running(second_pair)


def test_data_survives_a_restart(second_pair):
    embedded.ensure_started(second_pair)
    conninfo = f"host={second_pair.pg_socket_dir} user=postgres dbname=eshop"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    redis.Redis(port=second_pair.redis_port).set("kept", "yes")
    embedded.stop(second_pair)

    embedded.ensure_started(second_pair)
    with psycopg.connect(conninfo) as conn:
        assert conn.execute("SELECT v FROM kept").fetchone()[0] == 42
    assert redis.Redis(port=second_pair.redis_port).get("kept") == b"yes"


def test_redis_port_taken_by_another_program_is_a_clear_error(second_pair):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", second_pair.redis_port))
        squatter.listen()
        with pytest.raises(embedded.EmbeddedServiceError, match=rf"Port {second_pair.redis_port} is already in use"):
            embedded.redis_start(second_pair)


def test_long_data_paths_get_a_short_socket_dir(tmp_path):
    deep = tmp_path / ("x" * 120) / "pg"
    socket_dir = embedded.postgres_socket_dir(deep)
    assert socket_dir != deep
    assert len(str(socket_dir / ".s.PGSQL.5432")) <= 100
