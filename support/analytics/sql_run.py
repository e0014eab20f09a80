"""Ask the data, the runner: a query checked by support/analytics/safe_sql.py runs here, and only
as the role analytics_reader (SELECT on the views only; migrations 0005_issue7_analytics_views and
0008_issue13_analytics_views_without_text). Where that role cannot be assumed nothing runs: there
is no fallback to the app's own role (README, Security, says how to create the role).

The transaction is READ ONLY and always rolled back, with SET LOCAL statement_timeout, work_mem
and temp_file_limit; the rows kept are cut at the row limit and at a size in bytes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import logging
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection, transaction

from support.analytics.safe_sql import CheckedQuery

logger = logging.getLogger(__name__)

READER_ROLE = "analytics_reader"
FETCH_BATCH = 100


class QueryFailed(RuntimeError):
    """An allowed query failed in the database (timeout, unknown column, ...); the message says why."""


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[list]
    truncated: bool
    seconds: float


def _plain(value):
    """Database values as JSON-friendly text and numbers."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return round(value.total_seconds() / 3600, 4)  # hours: what an interval is usually asked as
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


def _explain(exc: DatabaseError, timeout_ms: int) -> str:
    cause = exc.__cause__ or exc
    state = getattr(cause, "sqlstate", None)
    first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    if state == "57014":
        return f"The query took longer than {timeout_ms / 1000:g} s and was stopped. Ask for less data or a shorter period."
    if state == "25006":
        return "The query tried to change data; only reading is allowed."
    if state == "42501":
        return "The query tried to read something it is not allowed to read."
    if state == "53400":
        return "The query needed more temporary disk space than allowed and was stopped. Ask for less data."
    if state in {"42703", "42P01", "42883", "42804", "42803", "42601", "22P02", "22007", "22008", "22012"}:
        return f"The database could not run the query: {first_line}."
    return f"The query failed in the database: {first_line}."


def _limit_session(cursor, *, timeout_ms: int) -> None:
    """The transaction's limits, then the reader role; a limit or the role refused stops the run."""
    cursor.execute("SET TRANSACTION READ ONLY")
    cursor.execute(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
    cursor.execute(f"SET LOCAL work_mem = '{int(settings.ANALYTICS_WORK_MEM_KB)}kB'")
    try:
        with transaction.atomic():  # temp_file_limit needs superuser or GRANT SET ON PARAMETER (PostgreSQL 15+)
            cursor.execute(f"SET LOCAL temp_file_limit = '{int(settings.ANALYTICS_TEMP_FILE_LIMIT_KB)}kB'")
        with transaction.atomic():
            cursor.execute(f"SET LOCAL ROLE {READER_ROLE}")
    except DatabaseError as exc:
        logger.error("ask-the-data is not set up, nothing was run: %s", exc)
        raise QueryFailed(f"Ask-the-data is not set up on this database ({str(exc).strip().splitlines()[0]}); nothing was run. "
                          "An administrator must create the role analytics_reader and allow the app to set "
                          "temp_file_limit: see README, Security.") from None


def _fetch(cursor, *, limit: int, max_bytes: int) -> tuple[list[list], bool]:
    """At most `limit` rows and `max_bytes` of JSON; whether anything was left out."""
    rows: list[list] = []
    size = 0
    while True:
        batch = cursor.fetchmany(FETCH_BATCH)
        if not batch:
            return rows, False
        for row in batch:
            plain = [_plain(v) for v in row]
            size += len(json.dumps(plain, default=str))
            if len(rows) >= limit or size > max_bytes:
                if not rows:
                    raise QueryFailed(f"One row of the result is larger than {max_bytes:,} bytes; ask for less text per row.")
                return rows, True
            rows.append(plain)


def sql_run(query: CheckedQuery, *, timeout_ms: int | None = None) -> QueryResult:
    """Run a checked query read-only as analytics_reader with its limits; QueryFailed says why it failed.

    Nothing the query does can persist: the transaction (or savepoint, when called inside one)
    is read-only and is always rolled back.
    """
    timeout_ms = int(timeout_ms or settings.ANALYTICS_STATEMENT_TIMEOUT_MS)
    started = time.monotonic()
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                _limit_session(cursor, timeout_ms=timeout_ms)
                cursor.execute(query.sql)
                columns = [column.name for column in cursor.description]
                rows, truncated = _fetch(cursor, limit=settings.ANALYTICS_ROW_LIMIT, max_bytes=settings.ANALYTICS_RESULT_MAX_BYTES)
            transaction.set_rollback(True)
    except DatabaseError as exc:
        raise QueryFailed(_explain(exc, timeout_ms)) from exc
    return QueryResult(columns=columns, rows=rows, truncated=truncated, seconds=round(time.monotonic() - started, 4))
