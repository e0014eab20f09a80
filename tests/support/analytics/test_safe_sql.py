"""The guard around model-written SQL: refusals (parser-checked) and the read-only, time-limited run."""

import pytest
from django.db import connection
from django.test import override_settings

from eshop.models import User
from support.analytics.safe_sql import CheckedQuery, QueryRefused, sql_check
from support.analytics.sql_run import QueryFailed, sql_run
from support.analytics.schema import SCHEMA, VIEWS
from tests.factories import ProductFactory, UserFactory
from tests.support.factories import TicketFactory


def refused(sql: str) -> str:
    with pytest.raises(QueryRefused) as info:
        sql_check(sql)
    return str(info.value)


# --- what is allowed ------------------------------------------------------------------------------

def test_a_select_over_the_views_is_qualified_limited_and_rendered_without_comments():
    checked = sql_check("select category, count(*) /* per category */ from tickets -- all of them\n group by category")

    assert checked.sql == "SELECT category, COUNT(*) FROM analytics.tickets GROUP BY category LIMIT 501"
    assert checked.views == ("tickets",)


def test_with_union_window_functions_and_date_arithmetic_are_allowed():
    sql = ("WITH weekly AS (SELECT date_trunc('week', created_at) AS week, count(*) AS n FROM analytics.tickets "
           "WHERE created_at > now() - interval '90 days' GROUP BY 1) "
           "SELECT week, n, lag(n) OVER (ORDER BY week), round(avg(n) OVER ()::numeric, 2) FROM weekly "
           "UNION ALL SELECT NULL, count(*), NULL, NULL FROM analytics.orders WHERE total > 100")
    assert "analytics.orders" in sql_check(sql).sql


def test_ctes_are_readable_where_postgres_sees_them():
    assert "FROM a" in sql_check("WITH a AS (SELECT id FROM tickets), b AS (SELECT id FROM a) SELECT * FROM b JOIN a USING (id)").sql


@pytest.mark.parametrize("sql", [
    "WITH eshop_user AS (SELECT * FROM eshop_user) SELECT * FROM eshop_user",  # its own body reads the real table
    "WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a",  # b is not visible yet
    "SELECT * FROM (WITH eshop_user AS (SELECT 1) SELECT * FROM eshop_user) x, eshop_user",  # out of the CTE's scope
])
def test_a_cte_name_cannot_hide_a_real_table(sql):
    assert "is not one of the analytics views" in refused(sql)


def test_a_small_limit_is_kept_and_a_big_one_is_lowered():
    assert sql_check("SELECT id FROM analytics.orders LIMIT 5").sql.endswith("LIMIT 5")
    assert sql_check("SELECT id FROM analytics.orders LIMIT 100000").sql.endswith("LIMIT 501")


# --- refusals ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("sql", [
    "DELETE FROM analytics.tickets",
    "UPDATE analytics.orders SET total = 0",
    "INSERT INTO analytics.tickets (id) VALUES (1)",
    "MERGE INTO analytics.orders o USING analytics.orders p ON o.id = p.id WHEN MATCHED THEN DELETE",
    "TRUNCATE eshop_order",
    "COPY eshop_user TO '/tmp/users.csv'",
    "WITH gone AS (DELETE FROM analytics.tickets RETURNING id) SELECT count(*) FROM gone",
])
def test_data_changes_are_refused(sql):
    message = refused(sql)
    assert "allowed" in message


@pytest.mark.parametrize("sql", [
    "DROP TABLE eshop_user",
    "CREATE TABLE analytics.x (id int)",
    "ALTER TABLE eshop_user ADD COLUMN x int",
    "GRANT ALL ON eshop_user TO PUBLIC",
    "SET ROLE postgres",
    "CREATE ROLE hacker SUPERUSER",
])
def test_schema_and_role_changes_are_refused(sql):
    assert "allowed" in refused(sql)


def test_several_statements_are_refused():
    assert refused("SELECT 1; SELECT 2") == "Only one statement is allowed; this has 2."
    assert refused("SELECT count(*) FROM analytics.tickets; DROP TABLE eshop_user") == "Only one statement is allowed; this has 2."


@pytest.mark.parametrize("sql, function", [
    ("SELECT pg_sleep(10)", "pg_sleep"),
    ("SELECT count(*) FROM analytics.tickets WHERE pg_sleep(1) IS NOT NULL", "pg_sleep"),
    ("SELECT pg_read_file('/etc/passwd')", "pg_read_file"),
    ("SELECT set_config('statement_timeout', '0', false)", "set_config"),
    ("SELECT lo_import('/etc/passwd')", "lo_import"),
    ("SELECT dblink('host=evil', 'select 1')", "dblink"),
    ("SELECT current_setting('data_directory')", "current_setting"),
    ("SELECT pg_terminate_backend(1)", "pg_terminate_backend"),
    ("SELECT nextval('support_ticket_number_seq')", "nextval"),
    ("SELECT * FROM generate_series(1, 100000000) g", None),
    ("SELECT public.pg_sleep(1)", None),
    ("SELECT \"pg_sleep\"(1)", "pg_sleep"),
    ("SELECT current_user", "CURRENT_USER"),
    ("SELECT session_user", "SESSION_USER"),
    ("SELECT current_schema", "CURRENT_SCHEMA"),
])
def test_side_effect_delay_and_unlisted_functions_are_refused(sql, function):
    message = refused(sql)
    assert "not allowed" in message
    if function:
        assert function in message


@pytest.mark.parametrize("sql", [
    "SELECT * FROM pg_catalog.pg_user",
    "SELECT usename, passwd FROM pg_shadow",
    "SELECT * FROM pg_roles",
    "SELECT table_name FROM information_schema.tables",
    "SELECT id FROM analytics.tickets WHERE id IN (SELECT oid FROM pg_class)",
])
def test_system_catalogs_are_refused(sql):
    assert "is not one of the analytics views" in refused(sql)


@pytest.mark.parametrize("sql", [
    "SELECT email, password FROM eshop_user",
    "SELECT * FROM public.eshop_user",
    "SELECT session_data FROM django_session",
    "SELECT t.id FROM analytics.tickets t JOIN eshop_user u ON u.id = t.customer_id",
    "SELECT * FROM support_ticket",
    "SELECT * FROM other_db.analytics.tickets",
])
def test_tables_outside_the_views_are_refused(sql):
    assert "is not one of the analytics views" in refused(sql)


@pytest.mark.parametrize("sql, reason", [
    ("SELECT 1 /* */ ; DROP TABLE eshop_user", "Only one statement"),
    ("SELECT count(*) FROM analytics.tickets -- harmless\n; DELETE FROM eshop_user", "Only one statement"),
    ("SELECT count(*) FROM analytics.tickets /* analytics.tickets */ JOIN eshop_user ON true", "not one of the analytics views"),
    ("SELECT 'a\\' ; DROP TABLE eshop_user; --'", "Only one statement"),  # standard strings: the backslash is a letter
    ("SELECT $$x$$; SELECT pg_sleep(1); $$", None),
    ("SELECT pg_sl/**/eep(1)", None),
    ("SELECT 1 FROM analytics.tickets WHERE title = U&'\\0027' OR pg_sleep(1) IS NULL", "pg_sleep"),
    ("SELECT E'\\x27; DROP TABLE eshop_user; --' FROM eshop_user", "not one of the analytics views"),
    ("SELECT 1 FROM \"eshop_user\"", "not one of the analytics views"),
    ("SELECT 1 FROM analytics.\"tickets\" t, eshop_user", "not one of the analytics views"),
    ("SELECT 1\x00; DROP TABLE eshop_user", "NUL"),
])
def test_comments_escapes_and_quoting_cannot_smuggle_anything(sql, reason):
    message = refused(sql)
    if reason:
        assert reason in message


def test_smuggled_text_in_an_allowed_query_stays_a_harmless_string():
    checked = sql_check("SELECT E'\\x27); DROP TABLE eshop_user; --' AS a, $$'; DELETE FROM x; --$$ AS b, 1 /* ' */")

    assert "/*" not in checked.sql and "$$" not in checked.sql
    assert sql_check(checked.sql).sql == checked.sql  # the rendered query reads the same once more


@pytest.mark.parametrize("sql, message", [
    ("SELECT user", "user reads the database session"),
    ("SELECT current_role FROM analytics.tickets", "current_role reads the database session"),
    ("SELECT 'eshop_user'::regclass", "Casts to regclass look up database objects"),
    ("TABLE eshop_user", "is not one of the analytics views"),
])
def test_session_words_object_lookups_and_table_commands_are_refused(sql, message):
    assert message in refused(sql)


def test_a_column_of_a_view_may_be_called_like_a_session_word_when_qualified():
    assert sql_check('SELECT t.status, "user" FROM analytics.tickets t').sql


@pytest.mark.parametrize("sql", ["SELECT * INTO stolen FROM analytics.tickets", "SELECT * FROM analytics.tickets FOR UPDATE",
                                 "SELECT * FROM analytics.tickets FOR SHARE"])
def test_select_into_and_row_locks_are_refused(sql):
    assert "Only reading is allowed" in refused(sql)


@pytest.mark.parametrize("sql, message", [
    ("", "There is no query to run."),
    ("   ", "There is no query to run."),
    ("SELEKT * FRM", "Only SELECT queries are allowed; this is not one."),
    ("SELECT (1", "could not be read as PostgreSQL"),
    ("SELECT " + "1, " * 3000 + "1", "the limit is 5,000"),
    (None, "There is no query to run."),
])
def test_empty_garbled_and_oversized_input_is_refused(sql, message):
    assert message in refused(sql)


# --- running ----------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_a_checked_query_runs_and_returns_plain_values():
    TicketFactory.create_batch(2, status="open")
    TicketFactory(status="closed")

    result = sql_run(sql_check("SELECT status, count(*) AS n, avg(ai_seconds) FROM analytics.tickets GROUP BY status ORDER BY n DESC"))

    assert result.columns == ["status", "n", "avg"]
    assert result.rows == [["open", 2, None], ["closed", 1, None]]
    assert not result.truncated


@pytest.mark.django_db
def test_it_runs_as_the_reader_role_which_cannot_read_the_tables_behind_the_views():
    result = sql_run(sql_check("SELECT count(*) FROM analytics.tickets"))

    assert result.columns == ["count"] and len(result.rows) == 1  # the view is readable
    with connection.cursor() as cursor:  # and the role really has no right on the raw tables
        cursor.execute("SELECT has_table_privilege('analytics_reader', 'eshop_user', 'SELECT'), "
                       "has_table_privilege('analytics_reader', 'analytics.tickets', 'SELECT'), "
                       "has_table_privilege('analytics_reader', 'analytics.tickets', 'INSERT')")
        assert cursor.fetchone() == (False, True, False)


@pytest.mark.django_db
def test_the_transaction_is_read_only_even_if_a_write_got_past_the_check():
    from support.analytics.safe_sql import CheckedQuery

    with pytest.raises(QueryFailed) as info:  # hand-built: sql_check would refuse it
        sql_run(CheckedQuery(sql="UPDATE eshop_user SET first_name = 'x'", views=()))
    assert "change data" in str(info.value) or "not allowed to read" in str(info.value)
    assert not User.objects.filter(first_name="x").exists()


@pytest.mark.django_db
def test_the_session_is_back_to_normal_after_a_run():
    sql_run(sql_check("SELECT 1"))

    UserFactory(email="after@example.com")  # still writable, as the app's own role
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('transaction_read_only'), current_setting('statement_timeout'), current_user = session_user")
        read_only, timeout, own_role = cursor.fetchone()
    assert (read_only, own_role) == ("off", True)
    assert timeout != "50ms"


@pytest.mark.django_db
def test_a_query_that_runs_past_the_timeout_is_stopped_and_says_so():
    ProductFactory.create_batch(60)
    # hand-built: sql_check refuses this many cross joins (tests/security/test_ask_data_guard.py)
    heavy = CheckedQuery(sql="SELECT count(*) FROM analytics.products a, analytics.products b, analytics.products c, analytics.products d", views=())

    with pytest.raises(QueryFailed) as info:
        sql_run(heavy, timeout_ms=50)

    assert str(info.value) == "The query took longer than 0.05 s and was stopped. Ask for less data or a shorter period."


@pytest.mark.django_db
@override_settings(ANALYTICS_ROW_LIMIT=3)
def test_results_are_cut_at_the_row_limit():
    ProductFactory.create_batch(5)

    result = sql_run(sql_check("SELECT id FROM analytics.products"))

    assert len(result.rows) == 3 and result.truncated


@pytest.mark.django_db
def test_a_database_error_says_why_in_plain_words():
    with pytest.raises(QueryFailed) as info:
        sql_run(sql_check("SELECT no_such_column FROM analytics.tickets"))
    assert str(info.value).startswith("The database could not run the query: column \"no_such_column\" does not exist")


@pytest.mark.django_db
def test_the_documented_views_match_the_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s "
                       "ORDER BY table_name, ordinal_position", [SCHEMA])
        actual: dict[str, list[str]] = {}
        for table, column in cursor.fetchall():
            actual.setdefault(table, []).append(column)
    assert actual == {view: [c for c in columns if c != "_"] for view, columns in VIEWS.items()}
    assert not any(c in {"email", "password", "ship_line1", "body"} for columns in actual.values() for c in columns)


@pytest.mark.django_db
def test_without_the_reader_role_nothing_runs_and_an_error_is_logged(monkeypatch, caplog):
    monkeypatch.setattr("support.analytics.sql_run.READER_ROLE", "no_such_role_here")

    with pytest.raises(QueryFailed, match="not set up"):
        sql_run(sql_check("SELECT count(*) FROM analytics.tickets"))

    assert "not set up, nothing was run" in caplog.text
