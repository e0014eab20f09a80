"""The Celery app. Queues by workload; task defaults live in config/settings/celery.py."""

import os
from enum import StrEnum

from celery import Celery, Task
from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.django.base")


class Queue(StrEnum):
    CHAT = "chat"  # chat answers: served by the llm worker before "llm" (config/settings/celery.py)
    LLM = "llm"  # generative SLM: slow, one process per 2 cores
    EMBED = "embed"  # MiniLM embeddings, batched
    DEFAULT = "default"  # everything else


class AppTask(Task):
    """Base of every task: retry what is transient (database or broker blips) with backoff.

    Bad input and missing rows are not retried: tasks return early or raise other errors.
    """

    retry_backoff = True
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 5
    autoretry_for = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError, ConnectionError)


app = Celery("eshop", task_cls=AppTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
