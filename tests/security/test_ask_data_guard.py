"""Attack suite, ask the data (issue 13, items High 2 and Medium 6): quoting cannot hide a real table,
nothing runs without the reader role, and a query cannot run away with CPU, memory, disk or the worker."""

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from support.analytics.ask import data_question_answer, data_questions_fail_stuck
from support.analytics.safe_sql import CheckedQuery, QueryRefused, sql_check
from support.analytics.sql_run import QueryFailed, sql_run
from support.models import DataQuestion
from support.models.analytics import MAX_ATTEMPTS, QuestionStatus


def refused(sql: str) -> str:
    with pytest.raises(QueryRefused) as info:
        sql_check(sql)
    return str(info.value)


# --- names as PostgreSQL resolves them -------------------------------------------------------------

@pytest.mark.parametrize("sql", [
    'WITH "ESHOP_USER" AS (SELECT 1) SELECT password FROM eshop_user',  # the review's bypass
    'WITH "Eshop_User" AS (SELECT 1) SELECT * FROM Eshop_User',  # unquoted folds to eshop_user: the real table
    'WITH eshop_user AS (SELECT 1) SELECT * FROM "ESHOP_USER"',  # quoted upper case is another (missing) table
])
def test_a_quoted_cte_name_cannot_hide_a_real_table(sql):
    assert "is not one of the analytics views" in refused(sql)


def test_a_view_named_with_other_quoting_is_not_a_view():
    assert "is not one of the analytics views" in refused('SELECT count(*) FROM analytics."TICKETS"')
    assert "is not one of the analytics views" in refused('SELECT count(*) FROM "ANALYTICS".tickets')


def test_ctes_that_resolve_to_the_same_name_still_work():
    assert sql_check('WITH "a" AS (SELECT id FROM analytics.tickets) SELECT * FROM A').views == ("tickets",)
    assert sql_check('WITH Busy AS (SELECT id FROM analytics.tickets) SELECT * FROM "busy"').views == ("tickets",)


@pytest.mark.django_db
def test_without_the_reader_role_nothing_runs(monkeypatch):
    monkeypatch.setattr("support.analytics.sql_run.READER_ROLE", "no_such_role_here")

    with pytest.raises(QueryFailed, match="not set up"):
        sql_run(sql_check("SELECT count(*) FROM analytics.tickets"))


# --- resource limits -------------------------------------------------------------------------------

def test_with_recursive_is_refused():
    sql = "WITH RECURSIVE n AS (SELECT 1 AS i UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"

    assert "WITH RECURSIVE is not allowed" in refused(sql)


def test_many_joins_without_a_condition_are_refused():
    commas = "SELECT count(*) FROM analytics.order_lines a, analytics.order_lines b, analytics.order_lines c CROSS JOIN analytics.order_lines d"
    disguised = "SELECT count(*) FROM analytics.orders a JOIN analytics.orders b ON true JOIN analytics.orders c ON 1 = 1 JOIN analytics.orders d ON (true)"

    assert "3 joins without ON or USING" in refused(commas)
    assert "3 joins without ON or USING" in refused(disguised)


def test_many_tables_are_refused_and_a_plain_join_is_fine():
    many = " ".join(f"JOIN analytics.orders o{i} USING (id)" for i in range(9))
    assert "at most 8 are allowed" in refused(f"SELECT count(*) FROM analytics.orders {many}")
    assert sql_check("SELECT count(*) FROM analytics.tickets t, analytics.orders o WHERE t.order_id = o.id").views == ("orders", "tickets")


@pytest.mark.django_db
@override_settings(ANALYTICS_WORK_MEM_KB=4096, ANALYTICS_TEMP_FILE_LIMIT_KB=2048)
def test_memory_and_temp_files_are_capped_as_the_reader_role():
    # hand-built: sql_check would refuse current_setting(); this reads what the run sets
    result = sql_run(CheckedQuery(sql="SELECT current_setting('work_mem'), current_setting('temp_file_limit'), current_user", views=()))

    assert result.rows == [["4MB", "2MB", "analytics_reader"]]


@pytest.mark.django_db
@override_settings(ANALYTICS_TEMP_FILE_LIMIT_KB=64, ANALYTICS_WORK_MEM_KB=64)
def test_a_query_that_spills_past_the_temp_file_limit_is_stopped_and_says_so():
    sort_to_disk = "SELECT i FROM generate_series(1, 200000) AS i ORDER BY md5(i::text) LIMIT 1"

    with pytest.raises(QueryFailed, match="temporary disk space"):
        sql_run(CheckedQuery(sql=sort_to_disk, views=()))


@pytest.mark.django_db
@override_settings(ANALYTICS_RESULT_MAX_BYTES=5_000)
def test_the_result_is_cut_at_its_size_in_bytes():
    result = sql_run(CheckedQuery(sql="SELECT repeat('x', 1000) FROM generate_series(1, 100)", views=()))

    assert result.truncated and 0 < len(result.rows) <= 5
    with pytest.raises(QueryFailed, match="larger than 5,000 bytes"):
        sql_run(CheckedQuery(sql="SELECT repeat('x', 10000)", views=()))


# --- a question that kills or hangs its worker -----------------------------------------------------

@pytest.mark.django_db
def test_a_question_redelivered_after_its_worker_was_killed_is_not_run_again(monkeypatch):
    def must_not_run(**kwargs):
        raise AssertionError("the model was asked again")

    monkeypatch.setattr("support.analytics.ask.sql_write", must_not_run)
    asked = DataQuestion.objects.create(question="everything times everything", status=QuestionStatus.RUNNING,
                                        attempts=MAX_ATTEMPTS, started_at=timezone.now())

    result = data_question_answer(question_id=asked.pk)

    assert result.status == QuestionStatus.FAILED and "not run again" in result.error


@pytest.mark.django_db
def test_each_run_counts_an_attempt(monkeypatch):
    monkeypatch.setattr("support.analytics.ask.sql_write", lambda **kwargs: "SELECT count(*) FROM analytics.tickets")
    asked = DataQuestion.objects.create(question="how many tickets")

    result = data_question_answer(question_id=asked.pk)

    assert (result.status, result.attempts, result.rows) == (QuestionStatus.DONE, 1, [[0]])
    assert result.started_at is not None


@pytest.mark.django_db
def test_a_question_stuck_running_is_failed_by_the_sweeper():
    stuck = DataQuestion.objects.create(question="q", status=QuestionStatus.RUNNING, attempts=1,
                                        started_at=timezone.now() - dt.timedelta(minutes=30))
    fresh = DataQuestion.objects.create(question="q", status=QuestionStatus.RUNNING, attempts=1, started_at=timezone.now())

    assert data_questions_fail_stuck() == 1

    stuck.refresh_from_db(), fresh.refresh_from_db()
    assert stuck.status == QuestionStatus.FAILED and "stopped without a result" in stuck.error
    assert fresh.status == QuestionStatus.RUNNING


def test_the_sweeper_is_scheduled():
    from django.conf import settings

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "support.analytics.tasks.sweep_stuck_data_questions" in tasks
