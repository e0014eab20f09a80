"""Attack suite, analytics privacy (issue 13, Low): the views ask-the-data reads hold no customer text,
not the ticket title nor the AI summary (which corrections used to carry)."""

import pytest
from django.db import connection

from support.analytics.sql_run import sql_run
from support.analytics.safe_sql import sql_check
from support.models.tickets import TicketCorrection
from tests.factories import AgentFactory
from tests.support.factories import TicketFactory


def _columns(view: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = 'analytics' AND table_name = %s", [view])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_the_tickets_view_has_no_title():
    assert "title" not in _columns("tickets") and "status" in _columns("tickets")


@pytest.mark.django_db
def test_corrected_titles_and_summaries_do_not_reach_the_corrections_view():
    ticket = TicketFactory(title="My address is 1 Secret Road")
    agent = AgentFactory()
    for field, old, new in [("summary", "Customer at 1 Secret Road wants...", "Customer wants..."),
                            ("title", "1 Secret Road", "Late parcel"), ("sentiment", "neutral", "negative")]:
        TicketCorrection.objects.create(ticket=ticket, field=field, from_value=old, to_value=new, corrected_by=agent)

    result = sql_run(sql_check("SELECT field, from_value, to_value FROM analytics.corrections ORDER BY field"))

    assert result.rows == [["sentiment", "neutral", "negative"], ["summary", None, None], ["title", None, None]]
    assert "Secret" not in str(sql_run(sql_check("SELECT * FROM analytics.tickets")).rows)
