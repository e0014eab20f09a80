"""Ask the data, the guard: SQL written by a model is checked with a real parser (sqlglot, the
PostgreSQL dialect) and only then run, read-only, with a statement timeout and a row limit.

sql_check allows exactly one SELECT (WITH and UNION allowed) whose every table is one of the
documented analytics views (or a CTE of the query), whose every function is on an allow-list,
with no SELECT INTO, no FOR UPDATE/SHARE and no parameters. The query that runs is the one
re-rendered from the checked syntax tree, without comments, and re-parsed to the same tree:
text the parser and PostgreSQL could read differently (comments, escapes, dollar quotes)
cannot smuggle anything past the check.

Names are compared as PostgreSQL resolves them: an unquoted name folded to lower case, a quoted
one exactly as written (so `WITH "ESHOP_USER" AS (...) ... FROM eshop_user` reads the real table
and is refused). WITH RECURSIVE is refused, and so are queries with many tables or many joins
without a condition (a cross join of the views can take the server down).

support/analytics/sql_run.py runs a checked query (read-only, as the role analytics_reader, with
time, memory, temp-file and result-size limits).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from django.conf import settings
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from support.analytics.schema import SCHEMA, VIEWS

MAX_SQL_CHARS = 5_000
MAX_TABLE_REFERENCES = 8  # views and CTEs read, all subqueries together
MAX_JOINS_WITHOUT_CONDITION = 2  # `FROM a, b` or CROSS JOIN (a WHERE may still relate them)


class QueryRefused(ValueError):
    """The query is not allowed; the message says why in plain words."""


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


def _function_name(func: exp.Func) -> str:
    return func.name if isinstance(func, exp.Anonymous) else func.sql_name()


def pg_name(identifier: exp.Expression | None) -> str:
    """A name as PostgreSQL resolves it: unquoted folded to lower case, quoted kept exactly."""
    if not isinstance(identifier, exp.Identifier):
        return ""
    return identifier.name if identifier.args.get("quoted") else identifier.name.lower()


def _cte_name(cte: exp.CTE) -> str:
    alias = cte.args.get("alias")
    return pg_name(alias.this if isinstance(alias, exp.TableAlias) else None)


def _names_a_cte(table: exp.Table) -> bool:
    """Whether PostgreSQL would read this table name as a CTE: one defined by an enclosing query
    and visible here (inside a non-recursive CTE's own body only the CTEs before it are; a name
    that is not visible reads a real table of that name)."""
    name = pg_name(table.this)
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
            if any(_cte_name(cte) == name for cte in visible):
                return True
    return False


def _relates(join: exp.Join) -> bool:
    """Whether a join relates rows by their columns (ON true is a cross join in disguise)."""
    on = join.args.get("on")
    return bool(join.args.get("using")) or join.args.get("method") == "NATURAL" or (on is not None and on.find(exp.Column) is not None)


def _check_size(tree: exp.Expression) -> None:
    """Refuse what could run away: recursion, many tables, many joins without a condition."""
    for with_ in tree.find_all(exp.With):
        if with_.args.get("recursive"):
            raise QueryRefused("WITH RECURSIVE is not allowed in analytics queries (it can run without end).")
    tables = sum(1 for _ in tree.find_all(exp.Table))
    if tables > MAX_TABLE_REFERENCES:
        raise QueryRefused(f"The query reads {tables} tables; at most {MAX_TABLE_REFERENCES} are allowed. Ask a simpler question.")
    unconditioned = sum(1 for join in tree.find_all(exp.Join) if not _relates(join))
    if unconditioned > MAX_JOINS_WITHOUT_CONDITION:
        raise QueryRefused(f"The query has {unconditioned} joins without ON or USING (cross joins); at most "
                           f"{MAX_JOINS_WITHOUT_CONDITION} are allowed. Join the views on their ids.")


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
    _check_size(tree)
    views = set()
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise QueryRefused("Functions are not allowed as tables; only the analytics views can be read.")
        name, schema = pg_name(table.this), pg_name(table.args.get("db"))
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
