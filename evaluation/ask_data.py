"""`evaluate --task ask_data`: execution accuracy of SLM-written SQL over the analytics views.

Each question in data/ask_data.jsonl has a gold query. Both queries run through the same guard
(support/analytics/safe_sql.py) on the database the command is given; the generated query is
correct when its rows equal the gold rows as a multiset (in order where the item says
"ordered"). Rows are compared with their values sorted (column order and names do not matter)
and numbers rounded to one decimal.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable

from evaluation.runner import latency, load_jsonl
from support.services.demo_tickets import DEMO_TICKETS_FILE


def _value(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return round(float(value), 1)
    return str(value)


def result_key(rows: list[list], *, ordered: bool):
    normalized = [tuple(sorted((_value(v) for v in row), key=repr)) for row in rows]
    return normalized if ordered else Counter(normalized)


def evaluate_ask_data(*, limit: int | None, model: str | None, progress: Callable[[str], None]) -> dict:
    from django.conf import settings

    from support.analytics.ask import sql_write
    from support.analytics.safe_sql import QueryRefused, sql_check
    from support.analytics.sql_run import QueryFailed, sql_run
    from support.models import Ticket

    from eshop.models import Order

    if not Ticket.objects.exists() or not Order.objects.exists():
        return {"skipped": "no tickets or no orders in this database: run `manage.py seed_demo` (with the demo tickets) first, "
                           "or pass --sample-tickets"}
    items, seconds = [], []
    counts = Counter()
    rows = load_jsonl("ask_data.jsonl")[:limit]
    for i, row in enumerate(rows, 1):
        gold = sql_run(sql_check(row["sql"]))
        started = time.monotonic()
        sql, status = "", "wrong"
        try:
            sql = sql_write(question=row["question"], model=model)
            seconds.append(time.monotonic() - started)
            result = sql_run(sql_check(sql))
        except QueryRefused:
            status = "refused"
        except QueryFailed:
            status = "failed"
        except Exception as exc:  # noqa: BLE001 - an eval counts model failures instead of stopping
            status = "error"
            progress(f"    {row['id']}: {type(exc).__name__}: {exc}")
        else:
            ordered = bool(row.get("ordered"))
            if result_key(result.rows, ordered=ordered) == result_key(gold.rows, ordered=ordered):
                status = "correct"
        counts[status] += 1
        items.append({"id": row["id"], "status": status, "sql": sql})
        progress(f"    {row['id']} {status:<8} {sql.replace(chr(10), ' ')[:150]}")
        if i % 5 == 0 or i == len(rows):
            progress(f"    ask_data {i}/{len(rows)}")
    return {
        "model": model or settings.LLM_MODEL,
        "execution_accuracy": round(counts["correct"] / max(len(rows), 1), 3),
        "n": len(rows), "correct": counts["correct"], "wrong": counts["wrong"], "refused": counts["refused"],
        "failed": counts["failed"], "errors": counts["error"], "latency": latency(seconds), "items": items,
    }


def sample_support_data_ensure() -> str:
    """Tickets, corrections and chats for the evaluation on a database that has none.

    For a branch or database without the support desk's demo tickets: one ticket per entry of
    support/demo_data/demo_tickets.json (customer, dates, status, first response and resolution
    from its messages, the entry's labels as its triage), a category correction on every fifth
    ticket, and twenty chat conversations (every fourth handed off; ratings up, up, down, none).
    Idempotent: does nothing when tickets exist. Needs the demo orders' customers (seed_demo).
    """
    import json
    from django.db import transaction
    from django.utils import timezone

    from eshop.models import User
    from support.models import ChatTurn, Conversation, Message, Ticket, TicketCategory, TicketCorrection

    if Ticket.objects.exists():
        return "tickets exist: no sample data added"
    rows = json.loads(DEMO_TICKETS_FILE.read_text())
    customers = {u.email: u for u in User.objects.all()}
    categories = {c.slug: c for c in TicketCategory.objects.all()}
    now = timezone.now()
    tickets = []
    with transaction.atomic():
        for row in rows:
            customer = customers.get(row["customer_email"])
            if customer is None:
                continue
            started = now - dt.timedelta(days=row["created_days_ago"])
            at = [started + dt.timedelta(hours=m.get("hours_after_start", 0)) for m in row["messages"]]
            first_reply = next((t for t, m in zip(at, row["messages"]) if m["author"] == "agent"), None)
            ticket = Ticket.objects.create(
                customer=customer, origin="demo", subject=row["messages"][0]["body"][:80], status=row["status"],
                category=categories.get(row["labels"]["category"]), sentiment=row["labels"]["sentiment"],
                urgency=row["labels"]["urgency"], language="en", ai_status="done", created_at=started,
                last_activity_at=max(at), first_response_at=first_reply,
                resolved_at=max(at) if row["status"] in ("resolved", "closed") else None)
            Message.objects.bulk_create([Message(ticket=ticket, author_kind=m["author"], body=m["body"], created_at=t)
                                         for t, m in zip(at, row["messages"])])
            tickets.append(ticket)
        for ticket in tickets[::5]:
            TicketCorrection.objects.create(ticket=ticket, field="category", from_value="product-question",
                                            to_value=ticket.category.slug if ticket.category else "", created_at=ticket.created_at)
        for i in range(20):
            conversation = Conversation.objects.create(ticket=tickets[i] if i % 4 == 0 and i < len(tickets) else None,
                                                       created_at=now - dt.timedelta(days=i))
            ChatTurn.objects.create(conversation=conversation, question="Where is my order?", answer="It shipped.", status="done",
                                    rating=[1, 1, -1, None][i % 4], created_at=conversation.created_at)
    return f"sample data: {len(tickets)} tickets, {len(tickets[::5])} corrections, 20 conversations"
