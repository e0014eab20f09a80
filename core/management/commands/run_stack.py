"""`make run`: the whole app in one terminal.

Starts the embedded services (when DATABASE_URL / REDIS_URL are unset), checks the database and
the model files, migrates, loads the demo data, then runs the web server (gunicorn with uvicorn
workers: core/asgi_worker.py), the two workers (queues "chat" then "llm"; queues "embed" and "default")
and beat, and prints the URLs and logins.
Ctrl-C stops everything this command started; data stays under var/.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, connection

from core import embedded
from core.asgi_worker import web_server_args
from eshop.services.accounts import DEMO_LOGINS
from llm.model_files import ModelFileError, embedding_model_path, resolve_generative_model


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen | None = None
    log_path: Path | None = None


class Command(BaseCommand):
    help = "Run the whole app: services, migrations, demo data, web, workers and beat. Ctrl-C stops all."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-seed", action="store_true", help="Skip loading the demo data.")

    def handle(self, *args, host, port, no_seed, **options):
        self.children: list[Child] = []
        # /healthz details (what is down, while waiting) need staff or this token (README, "Security").
        self.healthz_token = os.environ.get("HEALTHZ_TOKEN") or secrets.token_urlsafe(24)
        self.started_services: list[str] = []
        self.services, want_pg, want_redis = embedded.from_settings()
        log_dir = Path(settings.BASE_DIR) / "var" / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        begun = time.monotonic()
        try:
            self._step("Services")
            self.started_services = embedded.ensure_started(self.services, postgres=want_pg, redis=want_redis)
            self._say(f"PostgreSQL: {'embedded, ' + str(self.services.pg_socket_dir) if want_pg else 'DATABASE_URL'}; "
                      f"Redis: {'embedded, 127.0.0.1:' + str(self.services.redis_port) if want_redis else 'REDIS_URL'}"
                      f"{' (started now)' if self.started_services else ''}")
            self._check_database()
            self._check_redis()
            self._step("Models")
            self._check_models()
            self._check_port_free(host, port)
            self._step("Migrations")
            call_command("migrate", interactive=False, verbosity=1)
            if not no_seed:
                self._step("Demo data")
                call_command("seed_demo")
            self._step("Processes")
            self._start_children(host, port, log_dir)
            self._wait_healthy(host, port)
            self._print_ready(host, port, log_dir, time.monotonic() - begun)
            self._supervise()
        except KeyboardInterrupt:
            self.stdout.write("\nStopping ...")
        except (embedded.EmbeddedServiceError, ModelFileError) as exc:
            self._shutdown()
            raise CommandError(str(exc)) from None
        except CommandError:
            self._shutdown()
            raise
        self._shutdown()

    # --- checks ----------------------------------------------------------------------------

    def _check_database(self) -> None:
        db = settings.DATABASES["default"]
        where = f"{db.get('HOST') or 'localhost'}:{db.get('PORT') or 5432}/{db.get('NAME')}"
        try:
            connection.ensure_connection()
        except OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CommandError(f"Cannot connect to the database at {where} (DATABASE_URL): {reason}") from None

    def _check_redis(self) -> None:
        import redis

        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
        except redis.RedisError as exc:
            raise CommandError(f"Cannot connect to Redis at {settings.REDIS_URL} (REDIS_URL): {exc}") from None

    def _check_models(self) -> None:
        if settings.LLM_BACKEND == "openai":
            self._say(f"generative: {settings.LLM_MODEL} on the inference server {settings.LLM_BASE_URL}")
        else:
            path = resolve_generative_model(settings.LLM_MODEL, settings.LLM_MODEL_DIR)
            self._say(f"generative: {settings.LLM_MODEL} ({path})")
        self._say(f"embeddings: {settings.EMBEDDING_MODEL} ({embedding_model_path(settings.EMBEDDING_MODEL)})")

    def _check_port_free(self, host: str, port: int) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError:
                raise CommandError(f"Port {port} on {host} is already in use: stop the program using it or run with PORT=<free port>.") from None

    # --- processes -------------------------------------------------------------------------

    def _start_children(self, host: str, port: int, log_dir: Path) -> None:
        bin_dir = Path(sys.executable).parent
        celery = [str(bin_dir / "celery"), "-A", "config"]
        self.children = [
            Child("web", [str(bin_dir / "gunicorn"), *web_server_args(bind=f"{host}:{port}"), "--access-logfile", "-"]),
            # LLM_MAX_CONCURRENCY: 1 for an in-process model, more for an inference server that batches.
            Child("worker-llm", [*celery, "worker", "-Q", "chat,llm", "-c", str(settings.LLM_MAX_CONCURRENCY), "-n", "llm@%h",
                                 "--loglevel", "INFO"]),
            Child("worker", [*celery, "worker", "-Q", "embed,default", "-c", "2", "-n", "main@%h", "--loglevel", "INFO"]),
            Child("beat", [*celery, "beat", "--loglevel", "INFO", "-s", settings.CELERY_BEAT_SCHEDULE_FILENAME]),
        ]
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.django.base"),
               "HEALTHZ_TOKEN": self.healthz_token}
        for child in self.children:
            child.log_path = log_dir / f"{child.name}.log"
            log = child.log_path.open("ab")
            # Own session: the terminal's Ctrl-C reaches only this command, which stops the
            # children in order (web first, workers last).
            child.process = subprocess.Popen(child.argv, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                                             start_new_session=True)
            self._say(f"{child.name:<11} pid {child.process.pid:<7} log {child.log_path}")

    def _wait_healthy(self, host: str, port: int, timeout: float = 120) -> None:
        url = f"http://{host}:{port}/healthz"
        deadline = time.monotonic() + timeout
        last = "starting"
        while time.monotonic() < deadline:
            self._raise_if_child_died()
            try:
                probe = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.healthz_token}"})
                with urllib.request.urlopen(probe, timeout=5) as response:
                    if response.status == 200:
                        self.stdout.write(f"\r  health: all green{' ' * 40}\n")
                        from core.tasks import queue_heartbeat

                        for queue in ("llm", "embed", "default"):
                            queue_heartbeat.apply_async(args=(queue,), queue=queue)
                        return
            except urllib.error.HTTPError as exc:
                import json

                try:
                    down = json.loads(exc.read()).get("down", [])
                    last = f"waiting for {', '.join(down)}" if down else last
                except ValueError:
                    last = f"HTTP {exc.code}"
            except OSError:
                last = "waiting for the web server"
            self.stdout.write(f"\r  health: {last:<60}")
            self.stdout.flush()
            time.sleep(1)
        raise CommandError(f"The app did not become healthy within {int(timeout)} s ({last}); see the logs under var/log/.")

    def _raise_if_child_died(self) -> None:
        for child in self.children:
            if child.process and child.process.poll() is not None:
                tail = ""
                if child.log_path and child.log_path.exists():
                    lines = child.log_path.read_text(errors="replace").splitlines()[-15:]
                    tail = "\n".join("    " + line for line in lines)
                raise CommandError(f"{child.name} exited with code {child.process.returncode}; last log lines:\n{tail}")

    def _supervise(self) -> None:
        stop = {"now": False}

        def on_term(signum, frame):
            stop["now"] = True

        signal.signal(signal.SIGTERM, on_term)
        while not stop["now"]:
            self._raise_if_child_died()
            time.sleep(1)

    def _shutdown(self) -> None:
        for child in self.children:
            if child.process and child.process.poll() is None:
                os.killpg(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in self.children:
            if not child.process:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait()
            self._say(f"stopped {child.name}")
        self.children = []
        if self.started_services:
            stopped = embedded.stop(self.services, self.started_services)
            self._say(f"stopped {', '.join(stopped)} (data kept under {self.services.root})")
            self.started_services = []

    # --- output ----------------------------------------------------------------------------

    def _step(self, title: str) -> None:
        self.stdout.write(self.style.MIGRATE_HEADING(f"==> {title}"))

    def _say(self, text: str) -> None:
        self.stdout.write(f"  {text}")

    def _print_ready(self, host: str, port: int, log_dir: Path, seconds: float) -> None:
        base = f"http://{host}:{port}"
        self.stdout.write(self.style.SUCCESS(f"\nReady in {seconds:.0f} s."))
        for label, path in (("Shop", "/"), ("Admin", "/admin/"), ("API docs", "/api/docs/"), ("Health", "/healthz")):
            self.stdout.write(f"  {label:<10} {base}{path}")
        self.stdout.write("  Demo logins:")
        for login in DEMO_LOGINS:
            self.stdout.write(f"    {login.role:<14} {login.email:<24} password: {login.password}")
        self.stdout.write(f"  Logs in {log_dir}. Press Ctrl-C to stop.")
