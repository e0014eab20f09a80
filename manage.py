#!/usr/bin/env python
"""Django's command-line utility. Starts the embedded PostgreSQL/Redis when the settings use them."""

import os
import sys

# Commands that never touch the database or Redis: no need to start anything for them.
_NO_SERVICES = {"help", "version", "--help", "-h", "--version", "check", "collectstatic", "makemigrations",
                "services", "spectacular", "run_stack"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.django.base")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    from core.embedded import EmbeddedServiceError
    from llm.model_files import ModelFileError

    try:
        command = sys.argv[1] if len(sys.argv) > 1 else "help"
        if command not in _NO_SERVICES:
            import django

            django.setup()
            from core import embedded

            services, want_postgres, want_redis = embedded.from_settings()
            embedded.ensure_started(services, postgres=want_postgres, redis=want_redis)
        execute_from_command_line(sys.argv)
    except (EmbeddedServiceError, ImproperlyConfigured, ModelFileError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
