import datetime as dt

import pytest
from django.utils import timezone

from core.jobs import JobStatus
from support.analytics import selectors
from support.analytics.selectors import DateRange
from tests.support.factories import (ChatTurnFactory, ConversationFactory, TaskRunFactory, TicketCategoryFactory,
                                     TicketCorrectionFactory, TicketFactory, days_ago)

pytestmark = pytest.mark.django_db


def last_week() -> DateRange:
    return DateRange.last_days(7)


def test_tickets_per_day_counts_each_category_per_day_and_leaves_out_other_days():
    returns = TicketCategoryFactory(slug="returns", name="Returns")
    shipping = TicketCategoryFactory(slug="shipping", name="Shipping")
    today = timezone.now()
    TicketFactory.create_batch(2, category=returns, created_at=today)
    TicketFactory(category=shipping, created_at=today)
    TicketFactory(category=None, created_at=today)
    TicketFactory(category=returns, created_at=days_ago(40))

    rows = selectors.tickets_per_day_by_category(period=last_week())

    assert rows == [(today.date(), "Returns", 2), (today.date(), "Shipping", 1), (today.date(), "Uncategorised", 1)]


def test_sentiment_per_day_counts_levels_and_untriaged_as_unknown():
    TicketFactory(sentiment="very_negative", created_at=days_ago(1))
    TicketFactory(sentiment="", ai_status=JobStatus.PENDING, created_at=days_ago(1))

    rows = selectors.sentiment_per_day(period=last_week())

    assert sorted(r[1] for r in rows) == ["unknown", "very_negative"]


def test_tickets_by_status_in_workflow_order_without_zero_rows():
    TicketFactory.create_batch(3, status="open")
    TicketFactory(status="resolved")

    assert selectors.tickets_by_status(period=last_week()) == [("Open", 3), ("Resolved", 1)]


def test_response_times_give_median_and_p90_in_hours():
    created = days_ago(3)
    for hours in (1, 2, 3, 4, 10):
        TicketFactory(created_at=created, first_response_at=created + dt.timedelta(hours=hours))
    TicketFactory(created_at=created, first_response_at=created + dt.timedelta(hours=1), resolved_at=created + dt.timedelta(hours=24))

    rows = dict((r[0], r[1:]) for r in selectors.response_times(period=last_week()))

    assert rows["First response"] == (2.5, 7.0, 6)  # percentile_cont over 1,1,2,3,4,10
    assert rows["Resolution"] == (24.0, 24.0, 1)


def test_ai_accuracy_is_the_share_of_triaged_tickets_whose_field_no_agent_corrected():
    tickets = TicketFactory.create_batch(4)
    TicketFactory(ai_status=JobStatus.PENDING)  # not triaged: not counted
    TicketFactory(origin="import", ai_status=JobStatus.DONE)  # imported history, labelled by agents: not counted
    TicketCorrectionFactory(ticket=tickets[0], field="category")
    TicketCorrectionFactory(ticket=tickets[0], field="category")  # corrected twice: one ticket
    TicketCorrectionFactory(ticket=tickets[1], field="urgency")

    rows = {r[0]: r[1:] for r in selectors.ai_accuracy(period=last_week())}

    assert rows["category"] == (4, 1, 0.75)
    assert rows["urgency"] == (4, 1, 0.75)
    assert rows["sentiment"] == (4, 0, 1.0)


def test_chat_outcomes_give_deflection_and_thumbs_up_share():
    handed_off = ConversationFactory(ticket=TicketFactory())
    kept = ConversationFactory.create_batch(3)
    ChatTurnFactory(conversation=kept[0], rating=1)
    ChatTurnFactory(conversation=kept[1], rating=1)
    ChatTurnFactory(conversation=handed_off, rating=-1)
    ChatTurnFactory(conversation=kept[2])  # not rated

    rows = {r[0]: r[1:] for r in selectors.chat_outcomes(period=last_week())}

    assert rows["Deflected (no ticket)"] == (0.75, 3, 4)
    assert rows["Thumbs up"] == (0.6667, 2, 3)


def test_task_latency_per_task_with_failure_rate():
    for seconds in (1.0, 2.0, 3.0):
        TaskRunFactory(task_name="support.tasks.llm_triage_ticket", seconds=seconds)
    TaskRunFactory(task_name="support.tasks.llm_triage_ticket", seconds=9.0, status="failure")
    TaskRunFactory(task_name="eshop.tasks.embed_product", queue="embed", seconds=0.1)

    rows = {r[0]: r[1:] for r in selectors.task_latency(period=last_week())}

    assert rows["llm_triage_ticket"] == ("llm", 4, 1, 0.25, 2.5, 7.2)
    assert rows["embed_product"] == ("embed", 1, 0, 0.0, 0.1, 0.1)


def test_every_selector_gives_no_rows_for_an_empty_range():
    TicketFactory(created_at=days_ago(100))
    empty = DateRange(start=(timezone.now() - dt.timedelta(days=5)).date(), end=timezone.now().date())
    for selector in (selectors.tickets_per_day_by_category, selectors.sentiment_per_day, selectors.tickets_by_status,
                     selectors.response_times, selectors.ai_accuracy, selectors.chat_outcomes, selectors.task_latency):
        assert selector(period=empty) == []
