"""The demo tickets (support/demo_data/demo_tickets.json): loaded by seed_demo, triaged by the workers."""

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from core.seeding import demo_rows_new
from eshop.models import Order, User
from support.models import Message, Ticket
from support.models.tickets import MessageAuthor, TicketOrigin, TicketStatus

DEMO_TICKETS_FILE = Path(__file__).resolve().parent.parent / "demo_data" / "demo_tickets.json"
DEMO_AGENT_EMAIL = "agent@example.com"
_ORDER_PLACEHOLDER = re.compile(r"\{order:(\w+)\}")


class DemoTicketsError(ValueError):
    pass


@dataclass
class DemoTicketsResult:
    created: int = 0
    skipped: int = 0  # already loaded
    without_customer: int = 0  # the demo customer is missing (demo orders not loaded)


def _fill_orders(text: str, numbers: dict[str, str]) -> str:
    """{order:D5} -> the demo order's real number (TH-123456); an unknown ref reads "my order"."""
    return _ORDER_PLACEHOLDER.sub(lambda m: numbers.get(m.group(1), "my order"), text)


def demo_tickets_ensure(*, path: Path = DEMO_TICKETS_FILE) -> DemoTicketsResult:
    """Create the demo tickets with their messages, dated in the past, and request their triage.

    Idempotent by the ticket's demo `ref` (Ticket.demo_ref). Customers must exist (seed_demo loads
    the demo orders and customers first); a ticket whose customer is missing is counted and left
    out. Order placeholders become the demo orders' numbers, so the triage's order detection finds
    them; product and order are NOT pre-set: the AI detects them. Agent messages are written as the
    demo agent. Triage is requested on commit, so the running workers triage them (progress in the
    inbox banner). A malformed file raises DemoTicketsError.
    """
    from support.services.triage import ticket_triage_request

    result = DemoTicketsResult()
    if not path.exists():
        return result
    try:
        rows = json.loads(path.read_text())
        new_rows, result.skipped = demo_rows_new(rows, model=Ticket)
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DemoTicketsError(f"{path.name} is malformed: {exc}") from None
    customers = {u.email: u for u in User.objects.filter(email__in={row["customer_email"].lower() for row in rows})}
    numbers = dict(Order.objects.filter(demo_ref__isnull=False).values_list("demo_ref", "number"))
    agent = User.objects.filter(email=DEMO_AGENT_EMAIL).first()
    now = timezone.now()
    with transaction.atomic():
        for _, ref, row in new_rows:
            customer = customers.get(row["customer_email"].lower())
            if customer is None:
                result.without_customer += 1
                continue
            status = row.get("status", TicketStatus.OPEN)
            if status not in TicketStatus.values:
                raise DemoTicketsError(f"Demo ticket {ref}: unknown status {status!r}")
            started = now - timedelta(days=float(row["created_days_ago"]))
            messages = [
                Message(author_kind=MessageAuthor.AGENT if m["author"] == "agent" else MessageAuthor.CUSTOMER,
                        author=agent if m["author"] == "agent" else customer, body=_fill_orders(m["body"], numbers),
                        is_internal=bool(m.get("internal")),
                        created_at=min(started + timedelta(hours=float(m.get("hours_after_start", 0))), now))
                for m in row["messages"]
            ]
            if not messages or messages[0].author_kind != MessageAuthor.CUSTOMER:
                raise DemoTicketsError(f"Demo ticket {ref}: the first message must be the customer's")
            first_reply = next((m.created_at for m in messages if m.author_kind == MessageAuthor.AGENT and not m.is_internal), None)
            last = max(m.created_at for m in messages)
            ticket = Ticket.objects.create(
                demo_ref=ref, customer=customer, origin=TicketOrigin.DEMO, status=status, created_at=started,
                last_activity_at=last, first_response_at=first_reply,
                resolved_at=last if status in (TicketStatus.RESOLVED, TicketStatus.CLOSED) else None,
                assignee=agent if first_reply else None,
            )
            for message in messages:
                message.ticket = ticket
            Message.objects.bulk_create(messages)
            ticket_triage_request(ticket)
            result.created += 1
    return result


DEMO_HISTORY_FILE = Path(__file__).resolve().parent.parent / "demo_data" / "ticket_history.json"
DEMO_HISTORY_DAYS = (30, 210)  # the history is spread over these days before the first seeding


def demo_history_ensure(*, path: Path = DEMO_HISTORY_FILE) -> DemoTicketsResult:
    """The demo shop's labelled history (support/demo_data/ticket_history.json, in the `import_tickets` format):
    closed tickets its agents labelled, imported as `import_tickets` would (not triaged; embedded on the embed
    queue; their labels train the heads and calibrations and are shown as examples), dated over the past months.

    Idempotent by each row's `ref` (Ticket.demo_ref). A row that fails the import's checks raises DemoTicketsError
    with the import's error lines, and nothing is written."""
    from support.services.ticket_import import TicketImportError, tickets_create, tickets_file_read, tickets_rows_check

    result = DemoTicketsResult()
    if not path.exists():
        return result
    try:
        rows = tickets_file_read(path)
        new_rows, result.skipped = demo_rows_new(rows, model=Ticket)
        if not new_rows:
            return result
        items = tickets_rows_check([row for _, _, row in new_rows])
    except (KeyError, TypeError) as exc:
        raise DemoTicketsError(f"{path.name} is malformed: {exc}") from None
    except TicketImportError as exc:
        raise DemoTicketsError(f"{path.name}: {exc}") from None
    now = timezone.now()
    first, last = DEMO_HISTORY_DAYS
    position = {ref: index for index, ref, _ in new_rows}
    tickets_create(items, demo_refs=True,
                   dated=lambda item: now - timedelta(days=last - (last - first) * position[item.ref] / max(len(rows) - 1, 1)))
    result.created = len(items)
    return result
