"""Celery: every task default in one place. Queues by workload (see config/celery.py: Queue)."""

from datetime import timedelta

from kombu import Queue as KombuQueue

from config.env import env_int
from config.settings.services import BASE_DIR, REDIS_URL

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"

CELERY_TASK_QUEUES = (KombuQueue("chat"), KombuQueue("llm"), KombuQueue("embed"), KombuQueue("default"))
CELERY_TASK_DEFAULT_QUEUE = "default"
# Every task of ours by its full name, in one place (a test checks that each registered task has a
# route): chat answers on "chat", other generative work on "llm", vectors on "embed", the rest on
# "default". The llm worker consumes "chat,llm" and, with the "sorted" queue order below, always
# looks at "chat" first: a chat turn waits for at most the one triage already running, never for a
# triage backlog, and one process (one copy of the model) serves both.
CELERY_TASK_ROUTES = {
    "support.tasks.llm_answer_chat_turn": {"queue": "chat"},
    "support.tasks.llm_triage_ticket": {"queue": "llm"},
    "support.tasks.triage_ticket_due": {"queue": "default"},  # the triage debounce waits here, not on the llm worker
    "support.analytics.tasks.llm_data_question_answer": {"queue": "llm"},
    "llm.tasks.llm_triage_messages_task": {"queue": "llm"},
    "llm.tasks.embed_texts_task": {"queue": "embed"},
    "eshop.tasks.embed_product": {"queue": "embed"},
    "support.tasks.embed_ticket": {"queue": "embed"},
    "support.tasks.embed_knowledge_document": {"queue": "embed"},
    "support.tasks.classifiers_retrain_task": {"queue": "default"},
    "support.tasks.llm_label_calibrations_refit": {"queue": "llm"},
    "support.tasks.calibrations_refresh": {"queue": "default"},
    "support.tasks.sweep_stale_triage": {"queue": "default"},
    "support.tasks.chat_turns_fail_stale": {"queue": "default"},
    "support.tasks.sweep_pending_knowledge": {"queue": "default"},
    "support.analytics.tasks.sweep_stuck_data_questions": {"queue": "default"},
    "eshop.tasks.sweep_owed_product_embeddings": {"queue": "default"},
    "core.tasks.sessions_clear_expired": {"queue": "default"},
    "core.tasks.queue_heartbeat": {"queue": "default"},  # beat and run_stack send it to each queue explicitly
}

# Time limits: generous defaults; SLM tasks set their own (see llm/tasks.py).
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 120)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 150)
LONGEST_TASK_SECONDS = env_int("CELERY_LONGEST_TASK_SECONDS", 600)

# acks_late is set per task, only on idempotent ones; when set, a task whose worker process
# dies is put back on the queue instead of being lost.
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_ACKS_ON_FAILURE_OR_TIMEOUT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long tasks: a worker holds one message at a time
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # An unacknowledged message is redelivered after this long: it must be longer than the
    # longest task, or a slow task would run twice.
    "visibility_timeout": max(3600, LONGEST_TASK_SECONDS * 2),
    "socket_connect_timeout": 3,
    # kombu's Redis transport rotates a worker's queues after each message (round robin); "sorted"
    # asks them in name order every time, so "chat" comes before "llm" (and "default" before "embed").
    "queue_order_strategy": "sorted",
}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3}
CELERY_TASK_SEND_SENT_EVENT = False
CELERY_WORKER_SEND_TASK_EVENTS = False

CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / "var" / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    f"heartbeat-{queue}": {
        "task": "core.tasks.queue_heartbeat",
        "schedule": timedelta(seconds=60),
        "args": (queue,),
        "options": {"queue": queue, "expires": 55},
    }
    for queue in ("llm", "embed", "default")  # "chat" is served by the llm worker: its heartbeat says it lives
}
# The support desk's sweeper: triage that waits too long (broker down, worker killed) is sent again.
CELERY_BEAT_SCHEDULE["support-sweep-stale-triage"] = {
    "task": "support.tasks.sweep_stale_triage",
    "schedule": timedelta(seconds=60),
    "options": {"expires": 55},
}

# Chat turns whose worker died are failed (and can be retried by the customer).
CELERY_BEAT_SCHEDULE["support-chat-stale-turns"] = {
    "task": "support.tasks.chat_turns_fail_stale", "schedule": timedelta(seconds=30), "options": {"expires": 25},
}

# Ask-the-data questions stuck running (worker killed or hung) are failed, never left spinning.
CELERY_BEAT_SCHEDULE["support-sweep-stuck-data-questions"] = {
    "task": "support.analytics.tasks.sweep_stuck_data_questions", "schedule": timedelta(seconds=60), "options": {"expires": 55},
}

# Knowledge indexing and product embeddings whose message never reached the broker are sent again
# (core/jobs.py: the row stays pending, the sweeper re-sends; the tasks are idempotent).
CELERY_BEAT_SCHEDULE["support-sweep-pending-knowledge"] = {
    "task": "support.tasks.sweep_pending_knowledge", "schedule": timedelta(seconds=120), "options": {"expires": 110},
}
CELERY_BEAT_SCHEDULE["eshop-sweep-owed-product-embeddings"] = {
    "task": "eshop.tasks.sweep_owed_product_embeddings", "schedule": timedelta(seconds=120), "options": {"expires": 110},
}

# Expired sessions (anonymous visitors leave one each) are deleted every hour.
# Refit the SLM's label calibrations when the categories, the model or the labelled tickets changed (it reads no
# model; the run itself is steps on the llm worker).
CELERY_BEAT_SCHEDULE["support-calibrations-refresh"] = {
    "task": "support.tasks.calibrations_refresh", "schedule": timedelta(minutes=10), "options": {"expires": 540},
}
CELERY_BEAT_SCHEDULE["core-clear-expired-sessions"] = {
    "task": "core.tasks.sessions_clear_expired", "schedule": timedelta(hours=1), "options": {"expires": 3000},
}
