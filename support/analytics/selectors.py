"""Reads behind the dashboard charts. Each returns rows (tuples) for a date range, ready for a
chart and its CSV export; an empty range gives empty rows, never an error.

The range is inclusive, in whole days (UTC), and applies to when a ticket, conversation or task
run started.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from core.jobs import JobStatus
from llm.models import TaskRun
from llm.labels import SENTIMENT_LEVELS
from support.models import ChatTurn, Conversation, Ticket, TicketCorrection
from support.models.tickets import TicketOrigin, TicketStatus

# The AI fields an agent corrects on the ticket page; title and summary are rewritten, not corrected.
ACCURACY_FIELDS = ("category", "sentiment", "urgency", "product")


@dataclass(frozen=True)
class DateRange:
    start: dt.date
    end: dt.date

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        tz = dt.timezone.utc
        return (dt.datetime.combine(self.start, dt.time.min, tzinfo=tz),
                dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz))

    def filter(self, field: str) -> Q:
        low, high = self.bounds
        return Q(**{f"{field}__gte": low, f"{field}__lt": high})

    @classmethod
    def last_days(cls, days: int = 30) -> DateRange:
        today = timezone.now().date()
        return cls(start=today - dt.timedelta(days=days - 1), end=today)


def percentile(values: list[float], share: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    position = share * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def tickets_per_day_by_category(*, period: DateRange) -> list[tuple]:
    """(day, category name, tickets) for tickets created in the range; no category: "Uncategorised"."""
    rows = (Ticket.objects.filter(period.filter("created_at"))
            .annotate(day=TruncDate("created_at", tzinfo=dt.timezone.utc))
            .values("day", "category__name").annotate(n=Count("id")).order_by("day", "category__name"))
    return [(row["day"], row["category__name"] or "Uncategorised", row["n"]) for row in rows]


def sentiment_per_day(*, period: DateRange) -> list[tuple]:
    """(day, sentiment, tickets); tickets not triaged yet count as "unknown"."""
    rows = (Ticket.objects.filter(period.filter("created_at"))
            .annotate(day=TruncDate("created_at", tzinfo=dt.timezone.utc))
            .values("day", "sentiment").annotate(n=Count("id")).order_by("day"))
    order = {level: i for i, level in enumerate(SENTIMENT_LEVELS)}
    return sorted(((row["day"], row["sentiment"] or "unknown", row["n"]) for row in rows),
                  key=lambda row: (row[0], order.get(row[1], len(order))))  # CSV rows in level order too


def tickets_by_status(*, period: DateRange) -> list[tuple]:
    """(status, tickets) for tickets created in the range, in workflow order; zero rows left out."""
    counts = dict(Ticket.objects.filter(period.filter("created_at")).values_list("status").annotate(n=Count("id")))
    return [(status.label, counts[status.value]) for status in TicketStatus if counts.get(status.value)]


def response_times(*, period: DateRange) -> list[tuple]:
    """(measure, median hours, p90 hours, tickets measured): first response and resolution."""
    tickets = Ticket.objects.filter(period.filter("created_at"))
    rows = []
    for label, field in (("First response", "first_response_at"), ("Resolution", "resolved_at")):
        hours = [(done - created).total_seconds() / 3600
                 for created, done in tickets.filter(**{f"{field}__isnull": False}).values_list("created_at", field)]
        if hours:
            rows.append((label, round(percentile(hours, 0.5), 2), round(percentile(hours, 0.9), 2), len(hours)))
    return rows


def ai_accuracy(*, period: DateRange) -> list[tuple]:
    """(field, AI-triaged tickets, tickets an agent corrected, share not corrected) per AI field."""
    triaged = (Ticket.objects.filter(period.filter("created_at"), ai_status=JobStatus.DONE)
               .exclude(origin=TicketOrigin.IMPORT))  # imported history carries its agents' labels: no AI decided it
    total = triaged.count()
    if not total:
        return []
    corrected = dict(TicketCorrection.objects.filter(ticket__in=triaged, field__in=ACCURACY_FIELDS)
                     .values_list("field").annotate(n=Count("ticket", distinct=True)))
    return [(field, total, corrected.get(field, 0), round(1 - corrected.get(field, 0) / total, 4)) for field in ACCURACY_FIELDS]


def chat_outcomes(*, period: DateRange) -> list[tuple]:
    """(measure, share, count, out of): conversations deflected (no ticket) and answers rated thumbs up."""
    conversations = Conversation.objects.filter(period.filter("created_at")).aggregate(
        total=Count("id"), deflected=Count("id", filter=Q(ticket__isnull=True)))
    ratings = ChatTurn.objects.filter(period.filter("created_at"), rating__isnull=False).aggregate(
        total=Count("id"), up=Count("id", filter=Q(rating=1)))
    rows = []
    if conversations["total"]:
        rows.append(("Deflected (no ticket)", round(conversations["deflected"] / conversations["total"], 4),
                     conversations["deflected"], conversations["total"]))
    if ratings["total"]:
        rows.append(("Thumbs up", round(ratings["up"] / ratings["total"], 4), ratings["up"], ratings["total"]))
    return rows


def task_latency(*, period: DateRange) -> list[tuple]:
    """(task, queue, runs, failures, failure rate, median s, p90 s) per task on the llm and embed queues."""
    runs: dict[tuple[str, str], list] = {}
    for name, queue, status, seconds in (TaskRun.objects.filter(period.filter("started_at"))
                                         .values_list("task_name", "queue", "status", "seconds").order_by("task_name")):
        runs.setdefault((name, queue), []).append((status, seconds))
    rows = []
    for (name, queue), items in runs.items():
        failures = sum(1 for status, _ in items if status == TaskRun.Status.FAILURE)
        seconds = [s for _, s in items]
        rows.append((name.rsplit(".", 1)[-1], queue, len(items), failures, round(failures / len(items), 4),
                     round(percentile(seconds, 0.5), 3), round(percentile(seconds, 0.9), 3)))
    return rows
