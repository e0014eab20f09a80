"""Ask the data, the guard: SQL written by a model is checked with a real parser (sqlglot, the
PostgreSQL dialect) and only then run, read-only, with a statement timeout and a row limit.

sql_check allows exactly one SELECT (WITH and UNION allowed) whose every table is one of the
documented analytics views (or a CTE of the query), whose every function is on an allow-list,
with no SELECT INTO, no FOR UPDATE/SHARE and no parameters. The query that runs is the one
re-rendered from the checked syntax tree, without comments, and re-parsed to the same tree:
text the parser and PostgreSQL could read differently (comments, escapes, dollar quotes)
cannot smuggle anything past the check.

sql_run runs a checked query in a transaction that is READ ONLY, with SET LOCAL
statement_timeout, as the role analytics_reader (SELECT on the views only; migration
0005_issue7_analytics_views) where the server has it, and always rolls the transaction back.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import time
import uuid
from dataclasses import dataclass

import sqlglot
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from support.analytics.schema import SCHEMA, VIEWS

logger = logging.getLogger(__name__)

MAX_SQL_CHARS = 5_000
READER_ROLE = "analytics_reader"


class QueryRefused(ValueError):
    """The query is not allowed; the message says why in plain words."""


class QueryFailed(RuntimeError):
    """An allowed query failed in the database (timeout, unknown column, ...); the message says why."""


_DENIED = tuple(getattr(exp, name) for name in (
    "DML", "DDL", "Drop", "Command", "Into", "Lock", "Copy", "Set", "Transaction", "Commit", "Rollback", "Grant",
    "Pragma", "Use", "Describe", "TruncateTable", "Kill", "Analyze", "Alter", "Cache", "Uncache", "Refresh", "Show",
    "Declare", "Execute", "Summarize", "Attach", "Detach", "LoadData", "Comment", "Placeholder", "Parameter",
) if hasattr(exp, name))

_DENIED_WORDS = {
    "Into": "SELECT INTO (it creates a table)", "Lock": "FOR UPDATE / FOR SHARE (it locks rows)",
    "Placeholder": "query parameters", "Parameter": "query parameters",
}

# Words PostgreSQL reads as session functions although they parse as column names.
_SESSION_WORDS = {"user", "current_role", "current_user", "session_user", "system_user", "current_catalog", "current_schema"}

# Functions by sqlglot class (what PostgreSQL's names parse to) and, for the rest, by name.
ALLOWED_FUNCTIONS = tuple(getattr(exp, name) for name in (
    "Count", "Sum", "Avg", "Min", "Max", "Stddev", "StddevPop", "StddevSamp", "Variance", "PercentileCont",
    "PercentileDisc", "Mode", "LogicalOr", "LogicalAnd", "GroupConcat", "CountIf",
    "TimestampTrunc", "DateTrunc", "Extract", "CurrentDate", "CurrentTimestamp", "TimeToStr", "ToChar", "Date",
    "Coalesce", "Nullif", "Greatest", "Least", "Case", "If", "Cast", "TryCast",
    "Round", "Abs", "Floor", "Ceil", "Sqrt", "Mod",
    "Lower", "Upper", "Initcap", "Length", "Concat", "ConcatWs", "Substring", "Trim", "Left", "Right", "Replace",
    "SplitPart", "StrPosition",
    "RowNumber", "Rank", "DenseRank", "Lag", "Lead", "Exists",
    "And", "Or", "Xor", "Pow", "Corr", "RegexpLike", "RegexpILike",  # operators sqlglot models as functions
) if hasattr(exp, name))
ALLOWED_FUNCTION_NAMES = {"now", "age", "date_part", "to_char", "string_agg", "bool_or", "bool_and", "btrim", "ltrim",
                          "rtrim", "width_bucket", "justify_interval", "justify_hours", "justify_days", "ntile",
                          "percent_rank", "cume_dist", "first_value", "last_value"}


@dataclass(frozen=True)
class CheckedQuery:
    sql: str  # re-rendered from the checked tree, views schema-qualified, comments gone, row limit applied
    views: tuple[str, ...]


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[list]
    truncated: bool
    seconds: float
    as_reader_role: bool


def _function_name(func: exp.Func) -> str:
    return func.name if isinstance(func, exp.Anonymous) else func.sql_name()


def _names_a_cte(table: exp.Table) -> bool:
    """Whether PostgreSQL would read this table name as a CTE: one defined by an enclosing query
    and visible here (inside a non-recursive CTE's own body only the CTEs before it are; a name
    that is not visible reads a real table of that name)."""
    name = table.name.lower()
    path: list[exp.Expression] = []
    node = table
    while node is not None:
        path.append(node)
        node = node.parent
        with_ = node.args.get("with_") if isinstance(node, exp.Query) else None
        if isinstance(with_, exp.With):
            ctes = list(with_.expressions)
            inside = next((i for i, cte in enumerate(ctes) if any(cte is p for p in path)), None)
            visible = ctes if inside is None or with_.args.get("recursive") else ctes[:inside]
            if any(cte.alias_or_name.lower() == name for cte in visible):
                return True
    return False


def sql_check(sql: str) -> CheckedQuery:
    """Parse and check model-written SQL; return the query to run, or raise QueryRefused."""
    if not isinstance(sql, str) or not sql.strip():
        raise QueryRefused("There is no query to run.")
    if len(sql) > MAX_SQL_CHARS:
        raise QueryRefused(f"The query is {len(sql):,} characters long; the limit is {MAX_SQL_CHARS:,}.")
    if "\x00" in sql:
        raise QueryRefused("The query contains a NUL character.")
    try:
        statements = [s for s in sqlglot.parse(sql, read="postgres") if s is not None and not isinstance(s, exp.Semicolon)]
    except (ParseError, TokenError) as exc:
        raise QueryRefused(f"The query could not be read as PostgreSQL SQL ({str(exc).splitlines()[0][:200]}).") from None
    if len(statements) != 1:
        raise QueryRefused(f"Only one statement is allowed; this has {len(statements)}.")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        if isinstance(tree, _DENIED):
            raise QueryRefused(f"Only SELECT queries are allowed; this is a {tree.key.upper()} statement, which could change data or the database.")
        raise QueryRefused("Only SELECT queries are allowed; this is not one.")
    for node in tree.walk():
        if isinstance(node, _DENIED):
            what = _DENIED_WORDS.get(type(node).__name__, f"a {node.key.upper()} statement")
            raise QueryRefused(f"Only reading is allowed; the query contains {what}.")
        if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
            raise QueryRefused("Functions named with a schema are not allowed.")
        if isinstance(node, exp.Column) and not node.table and not node.this.args.get("quoted") and node.name.lower() in _SESSION_WORDS:
            raise QueryRefused(f"{node.name} reads the database session, not the analytics views; it is not allowed.")
        if isinstance(node, exp.ObjectIdentifier):
            raise QueryRefused(f"Casts to {node.name.lower()} look up database objects; they are not allowed.")
    views = set()
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise QueryRefused("Functions are not allowed as tables; only the analytics views can be read.")
        name, schema = table.name.lower(), table.db.lower()
        if not table.catalog and not schema and _names_a_cte(table):
            continue
        if not table.catalog and schema in ("", SCHEMA) and name in VIEWS:
            table.set("db", exp.to_identifier(SCHEMA))
            table.set("this", exp.to_identifier(name))
            views.add(name)
            continue
        allowed = ", ".join(f"{SCHEMA}.{v}" for v in VIEWS)
        raise QueryRefused(f"“{table.sql(dialect='postgres')}” is not one of the analytics views; only these can be read: {allowed}.")
    for func in tree.find_all(exp.Func):
        if isinstance(func, exp.Anonymous):
            allowed = func.name.lower() in ALLOWED_FUNCTION_NAMES
        else:
            allowed = isinstance(func, ALLOWED_FUNCTIONS)
        if not allowed:
            raise QueryRefused(f"The function {_function_name(func)}() is not allowed in analytics queries.")
    limit = tree.args.get("limit")
    limit_value = limit.expression if isinstance(limit, exp.Limit) else None
    if not (isinstance(limit_value, exp.Literal) and limit_value.is_int and int(limit_value.name) <= settings.ANALYTICS_ROW_LIMIT):
        tree = tree.limit(settings.ANALYTICS_ROW_LIMIT + 1)
    rendered = tree.sql(dialect="postgres", comments=False)
    try:
        again = [s for s in sqlglot.parse(rendered, read="postgres") if s is not None and not isinstance(s, exp.Semicolon)]
    except (ParseError, TokenError):
        again = []
    if len(again) != 1 or again[0].sql(dialect="postgres", comments=False) != rendered:
        raise QueryRefused("The query could not be checked safely (it reads differently once rewritten).")
    return CheckedQuery(sql=rendered, views=tuple(sorted(views)))


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
    if state in {"42703", "42P01", "42883", "42804", "42803", "42601", "22P02", "22007", "22008", "22012"}:
        return f"The database could not run the query: {first_line}."
    return f"The query failed in the database: {first_line}."


def _use_reader_role(cursor) -> bool:
    try:
        with transaction.atomic():
            cursor.execute(f"SET LOCAL ROLE {READER_ROLE}")
        return True
    except DatabaseError as exc:
        logger.warning("ask-the-data runs as the app role: SET ROLE %s was refused (%s)", READER_ROLE, exc)
        return False


def sql_run(query: CheckedQuery, *, timeout_ms: int | None = None) -> QueryResult:
    """Run a checked query read-only with a timeout and the row limit; QueryFailed says why it failed.

    Nothing the query does can persist: the transaction (or savepoint, when called inside one)
    is read-only and is always rolled back.
    """
    timeout_ms = int(timeout_ms or settings.ANALYTICS_STATEMENT_TIMEOUT_MS)
    limit = settings.ANALYTICS_ROW_LIMIT
    started = time.monotonic()
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
                cursor.execute(f"SET LOCAL statement_timeout = {timeout_ms}")
                as_reader = _use_reader_role(cursor)
                cursor.execute(query.sql)
                columns = [column.name for column in cursor.description]
                fetched = cursor.fetchmany(limit + 1)
            transaction.set_rollback(True)
    except DatabaseError as exc:
        raise QueryFailed(_explain(exc, timeout_ms)) from exc
    return QueryResult(columns=columns, rows=[[_plain(v) for v in row] for row in fetched[:limit]],
                       truncated=len(fetched) > limit, seconds=round(time.monotonic() - started, 4), as_reader_role=as_reader)
