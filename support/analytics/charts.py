"""The dashboard's charts: each one's selector, CSV columns and SVG, in one registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from llm.labels import SENTIMENT_LEVELS
from support.analytics import selectors
from support.analytics.selectors import DateRange
from support.analytics.svg import bar_chart, pivot


@dataclass(frozen=True)
class ChartSpec:
    key: str
    title: str
    description: str
    columns: list[str]
    rows: Callable[..., list[tuple]]
    draw: Callable[[list[tuple], str], str]


@dataclass
class Chart:
    spec: ChartSpec
    rows: list[tuple]
    svg: str

    @property
    def is_empty(self) -> bool:
        return not self.rows


# One fixed colour per sentiment level, read as a scale: reds for negative, grey for neutral, greens
# for positive; "unknown" (not triaged yet) a pale slate that reads as no data, never as a level.
SENTIMENT_COLOURS = {"very_negative": "#991b1b", "negative": "#f87171", "neutral": "#9ca3af",
                     "positive": "#4ade80", "very_positive": "#15803d", "unknown": "#cbd5e1"}


def _stacked_by_day(rows, title, series_order=None, colours=None):
    labels, series = pivot(rows, series_order=series_order)
    return bar_chart(labels=[label[5:] for label in labels], series=series, stacked=True, title=title, colours=colours)


CHARTS = [
    ChartSpec("tickets-per-day", "Tickets per day by category", "New tickets each day, stacked by category.",
              ["day", "category", "tickets"], selectors.tickets_per_day_by_category, _stacked_by_day),
    ChartSpec("sentiment", "Sentiment over time", "New tickets each day, stacked by the customer's sentiment.",
              ["day", "sentiment", "tickets"], selectors.sentiment_per_day,
              lambda rows, title: _stacked_by_day(rows, title, series_order=[*SENTIMENT_LEVELS, "unknown"],
                                                  colours=SENTIMENT_COLOURS)),
    ChartSpec("backlog", "Tickets by status", "Where the tickets opened in the range stand now.",
              ["status", "tickets"], selectors.tickets_by_status,
              lambda rows, title: bar_chart(labels=[r[0] for r in rows], series={"Tickets": [r[1] for r in rows]}, title=title)),
    ChartSpec("response-times", "First response and resolution time", "Hours from a ticket's creation: median and 90th percentile.",
              ["measure", "median_hours", "p90_hours", "tickets"], selectors.response_times,
              lambda rows, title: bar_chart(labels=[r[0] for r in rows], series={"Median": [r[1] for r in rows], "p90": [r[2] for r in rows]},
                                            unit=" h", title=title)),
    ChartSpec("ai-accuracy", "AI accuracy per field", "Share of AI-triaged tickets whose field no agent corrected.",
              ["field", "ai_triaged", "corrected", "accuracy"], selectors.ai_accuracy,
              lambda rows, title: bar_chart(labels=[r[0] for r in rows], series={"Not corrected": [r[3] for r in rows]}, percent=True, title=title)),
    ChartSpec("chat", "Chat deflection and feedback", "Conversations that ended without a ticket; answers rated thumbs up.",
              ["measure", "share", "count", "out_of"], selectors.chat_outcomes,
              lambda rows, title: bar_chart(labels=[r[0] for r in rows], series={"Share": [r[1] for r in rows]}, percent=True, title=title)),
    ChartSpec("task-latency", "SLM task latency and failure rate", "Runs on the llm and embed queues: seconds (median, p90) and failures.",
              ["task", "queue", "runs", "failures", "failure_rate", "median_seconds", "p90_seconds"], selectors.task_latency,
              lambda rows, title: bar_chart(labels=[f"{r[0]} ({r[4] * 100:.0f}% failed)" for r in rows],
                                            series={"Median": [r[5] for r in rows], "p90": [r[6] for r in rows]}, unit=" s", title=title)),
]
CHARTS_BY_KEY = {spec.key: spec for spec in CHARTS}


def chart_build(spec: ChartSpec, *, period: DateRange) -> Chart:
    rows = spec.rows(period=period)
    return Chart(spec=spec, rows=rows, svg=spec.draw(rows, spec.title) if rows else "")


MAX_RESULT_BARS = 60


def result_chart(*, columns: list[str], rows: list[list]) -> str:
    """An SVG for an ask-the-data result whose shape suits one: a label (or date) column and one or
    more number columns, at most 60 rows; else "" (the table alone)."""
    if len(columns) < 2 or not rows or len(rows) > MAX_RESULT_BARS:
        return ""
    numeric = [all(isinstance(row[i], (int, float)) and not isinstance(row[i], bool) or row[i] is None for row in rows)
               for i in range(len(columns))]
    if numeric[0] or not all(numeric[1:]):
        return ""
    series = {name: [row[i] or 0 for row in rows] for i, name in enumerate(columns) if i}
    return bar_chart(labels=["(none)" if row[0] is None else str(row[0]) for row in rows], series=series, title="Answer")
