from django.core.management.base import BaseCommand, CommandError

from core import embedded


class Command(BaseCommand):
    help = "Start, stop or show the embedded PostgreSQL and Redis (used when DATABASE_URL / REDIS_URL are unset)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["start", "stop", "status"])

    def handle(self, *args, action, **options):
        services, want_pg, want_redis = embedded.from_settings()
        names = [name for name, wanted in (("postgres", want_pg), ("redis", want_redis)) if wanted]
        if not names:
            self.stdout.write("DATABASE_URL and REDIS_URL are set: no embedded service is used.")
            return
        try:
            if action == "start":
                started = embedded.ensure_started(services, postgres=want_pg, redis=want_redis)
                self.stdout.write(f"started: {', '.join(started) or 'nothing (already running)'}")
            elif action == "stop":
                stopped = embedded.stop(services, names)
                self.stdout.write(f"stopped: {', '.join(stopped) or 'nothing (not running)'}")
        except embedded.EmbeddedServiceError as exc:
            raise CommandError(str(exc)) from None
        running = {
            "postgres": embedded.postgres_is_running(services),
            "redis": embedded.redis_is_running(services),
        }
        for name in names:
            where = services.pg_socket_dir if name == "postgres" else f"127.0.0.1:{services.redis_port}"
            self.stdout.write(f"  {name:<9} {'running' if running[name] else 'stopped':<8} {where}")
