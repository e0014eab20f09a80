"""Import a shop's labelled ticket history (`manage.py import_tickets FILE.json|csv`).

Format (UTF-8). JSON: a list of objects, or {"tickets": [...]}; CSV: a header row with the same
names (one customer message per row: `text`). Per ticket:
- `messages`: [{"author": "customer" | "agent", "body": "..."}, ...] oldest first, at least one
  customer message; or `text`: the customer's single message (CSV: always `text`);
- `category` (optional): the slug or name of an existing ticket category;
- `sentiment` (optional): very_negative, negative, neutral, positive or very_positive;
- `satisfaction` (optional): the customer's rating, an integer 1..5 (checked here, used by
  `manage.py evaluate --tickets FILE`, which prints the Spearman correlation with the sentiment score);
- `product` (optional): the catalog id (external id) of the product, or its exact model name;
- `ref` (optional): your own id, unique in the file (shown in errors).
Every row is checked before anything is written: any bad row gives one error line per problem
(row number, ref and what is wrong) and nothing is imported. Imported tickets are closed history:
their labels count as agents' labels (training data, examples shown to triage), and they are
embedded by the embed queue; they are not triaged.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from llm.labels import SENTIMENT_LEVELS, sentiment_level_score

IMPORT_CUSTOMER_EMAIL = "imported-history@example.invalid"
MAX_BODY_CHARS = 10_000


class TicketImportError(ValueError):
    """The file cannot be imported; `errors` holds one line per problem. Nothing was written."""

    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} problem(s); nothing was imported:\n" + "\n".join(errors))
        self.errors = errors


@dataclass
class ImportTicket:
    row: int
    ref: str
    messages: list[dict]
    category: object = None  # TicketCategory
    sentiment: str = ""
    satisfaction: int | None = None
    product: object = None  # eshop Product
    problems: list[str] = field(default_factory=list)


def tickets_file_read(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise TicketImportError([f"{path}: no such file."])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise TicketImportError([f"{path}: not UTF-8 text."]) from None
    if path.suffix.lower() == ".csv":
        return list(csv.DictReader(text.splitlines()))
    if path.suffix.lower() != ".json":
        raise TicketImportError([f"{path}: the file must end in .json or .csv."])
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TicketImportError([f"{path}: invalid JSON ({exc.msg}, line {exc.lineno})."]) from None
    rows = data.get("tickets") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise TicketImportError([f"{path}: expected a list of tickets or {{\"tickets\": [...]}}."])
    return rows


def _messages(raw: dict, problems: list[str]) -> list[dict]:
    if raw.get("messages") not in (None, ""):
        messages = raw["messages"]
        if not isinstance(messages, list) or not messages:
            problems.append("messages must be a non-empty list")
            return []
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("author") not in ("customer", "agent"):
                problems.append(f"messages[{i}] needs author 'customer' or 'agent'")
            elif not isinstance(m.get("body"), str) or not m["body"].strip():
                problems.append(f"messages[{i}] has an empty body")
            elif len(m["body"]) > MAX_BODY_CHARS:
                problems.append(f"messages[{i}] is longer than {MAX_BODY_CHARS:,} characters")
        if not problems and not any(m["author"] == "customer" for m in messages):
            problems.append("no customer message")
        return [{"author": m["author"], "body": m["body"].strip()} for m in messages] if not problems else []
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append("needs `text` or `messages`")
        return []
    if len(text) > MAX_BODY_CHARS:
        problems.append(f"text is longer than {MAX_BODY_CHARS:,} characters")
        return []
    return [{"author": "customer", "body": text.strip()}]


def tickets_rows_check(raw_rows: list) -> list[ImportTicket]:
    """Each row parsed and checked against the categories and the catalog; raises TicketImportError
    listing every problem of every row."""
    from eshop.models import Product
    from support.models import TicketCategory

    categories = {c.slug: c for c in TicketCategory.objects.all()} | {c.name.lower(): c for c in TicketCategory.objects.all()}
    tickets, errors, refs = [], [], set()
    for number, raw in enumerate(raw_rows, 1):
        if not isinstance(raw, dict):
            errors.append(f"row {number}: not an object")
            continue
        problems: list[str] = []
        ref = str(raw.get("ref") or "").strip()
        if ref and ref in refs:
            problems.append(f"ref {ref!r} appears twice")
        refs.add(ref)
        ticket = ImportTicket(row=number, ref=ref, messages=_messages(raw, problems))
        if category := str(raw.get("category") or "").strip():
            ticket.category = categories.get(category) or categories.get(category.lower())
            if ticket.category is None:
                problems.append(f"unknown category {category!r}")
        if sentiment := str(raw.get("sentiment") or "").strip():
            if sentiment not in SENTIMENT_LEVELS:
                problems.append(f"sentiment {sentiment!r} is not one of {', '.join(SENTIMENT_LEVELS)}")
            ticket.sentiment = sentiment
        if (satisfaction := raw.get("satisfaction")) not in (None, ""):
            try:
                ticket.satisfaction = int(satisfaction)
            except (TypeError, ValueError):
                ticket.satisfaction = 0
            if not 1 <= ticket.satisfaction <= 5 or str(satisfaction).strip() not in {str(ticket.satisfaction), f"{ticket.satisfaction}.0"}:
                problems.append(f"satisfaction {satisfaction!r} is not an integer from 1 to 5")
        if product := str(raw.get("product") or "").strip():
            found = Product.objects.filter(external_id=int(product)) if product.isdigit() else Product.objects.filter(model__iexact=product)
            ticket.product = found.first() if found.count() == 1 else None
            if ticket.product is None:
                problems.append(f"product {product!r} matches {found.count()} catalog products (needs exactly one)")
        if problems:
            errors.append(f"row {number}{f' (ref {ref})' if ref else ''}: " + "; ".join(problems))
        tickets.append(ticket)
    if not raw_rows:
        errors.append("the file has no tickets")
    if errors:
        raise TicketImportError(errors)
    return tickets


def tickets_import(*, path: str | Path, customer_email: str = IMPORT_CUSTOMER_EMAIL) -> int:
    """Import every ticket of the file in one transaction (all or nothing); returns how many."""
    tickets = tickets_rows_check(tickets_file_read(path))
    tickets_create(tickets, customer_email=customer_email)
    return len(tickets)


def tickets_create(tickets: list[ImportTicket], *, customer_email: str = IMPORT_CUSTOMER_EMAIL,
                   demo_refs: bool = False, dated=None) -> None:
    """Checked tickets stored as closed, labelled history in one transaction, each embedded on the embed queue.

    `demo_refs`: each ticket keeps its ref as `Ticket.demo_ref` (the demo shop's history, seeded once by ref);
    `dated(ticket)`: when it happened (default: now)."""
    from django.contrib.auth import get_user_model

    from core.jobs import JobStatus, enqueue_on_commit
    from support.models import Message, Ticket
    from support.models.tickets import MessageAuthor, TicketOrigin, TicketStatus
    from support.tasks import embed_ticket

    now = timezone.now()
    with transaction.atomic():
        users = get_user_model().objects
        customer = users.filter(email=customer_email).first() or users.create_user(customer_email)  # no password: no sign-in
        for item in tickets:
            when = dated(item) if dated else now
            labels = {"category": item.category, "sentiment": item.sentiment, "product": item.product}
            ticket = Ticket.objects.create(
                customer=customer, origin=TicketOrigin.IMPORT, subject=f"Imported {item.ref}".strip()[:200],
                demo_ref=item.ref if demo_refs else None,
                status=TicketStatus.CLOSED, ai_status=JobStatus.DONE, created_at=when, last_activity_at=when,
                category=item.category, category_method="import" if item.category else "",
                category_confidence=1.0 if item.category else None, sentiment=item.sentiment,
                sentiment_score=sentiment_level_score(item.sentiment) if item.sentiment else None, product=item.product,
                agent_fields=[name for name, value in labels.items() if value],
            )
            Message.objects.bulk_create([Message(ticket=ticket, author_kind=MessageAuthor(m["author"]), body=m["body"],
                                                 created_at=when) for m in item.messages])
            enqueue_on_commit(embed_ticket, ticket.pk)
