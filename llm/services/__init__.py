"""The SLM tasks as plain Python services (usable without Celery; llm/tasks.py wraps them)."""
