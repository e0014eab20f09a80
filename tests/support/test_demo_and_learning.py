"""Demo tickets (seed_demo), agent corrections as training data, admin pages."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from core.jobs import JobStatus
from eshop.services.accounts import demo_users_ensure
from support.models import Ticket
from support.models.tickets import TicketOrigin, TicketStatus
from support.selectors import ticket_training_examples
from support.selectors.tickets import triage_progress
from support.services.demo_tickets import (
    DEMO_HISTORY_FILE, DEMO_TICKETS_FILE, DemoTicketsError, demo_history_ensure, demo_tickets_ensure,
)
from support.services.tickets import ticket_correct, ticket_create
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_people(db):
    """The demo logins and the demo customers named in demo_tickets.json, with the demo orders they cite."""
    demo_users_ensure()
    rows = json.loads(DEMO_TICKETS_FILE.read_text())
    for email in {row["customer_email"] for row in rows} - {"customer@example.com"}:
        UserFactory(email=email)
    from eshop.models import User

    for row in rows:
        if row.get("order_ref"):
            user = User.objects.get(email=row["customer_email"])
            if not user.orders.filter(demo_ref=row["order_ref"]).exists():
                OrderFactory(user=user, demo_ref=row["order_ref"], with_line=False)
    return rows


def test_demo_tickets_load_once_with_order_numbers_and_ask_for_triage(demo_people, ticket_categories, no_enqueue,
                                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = demo_tickets_ensure()
    assert first.created == len(demo_people) >= 60 and first.without_customer == 0
    assert Ticket.objects.filter(ai_status=JobStatus.PENDING).count() == first.created
    assert [name for name, *_ in no_enqueue].count("support.tasks.triage_ticket_due") == first.created

    t01 = Ticket.objects.get(demo_ref="T01")
    body = t01.messages.first().body
    assert "{order:" not in body and t01.customer.orders.get(demo_ref="D5").number in body
    assert t01.messages.filter(is_internal=True).exists() and t01.first_response_at and t01.status == "pending"

    again = demo_tickets_ensure()
    assert again.created == 0 and again.skipped == first.created
    assert Ticket.objects.count() == first.created


def test_demo_history_loads_once_as_labelled_past_tickets_that_triage_learns_from(ticket_categories, no_enqueue,
                                                                                  django_capture_on_commit_callbacks):
    rows = json.loads(DEMO_HISTORY_FILE.read_text())
    with django_capture_on_commit_callbacks(execute=True):
        first = demo_history_ensure()
    assert first.created == len(rows) >= 200
    history = Ticket.objects.filter(origin=TicketOrigin.IMPORT)
    assert history.count() == len(rows) and not history.exclude(status=TicketStatus.CLOSED).exists()
    sent = [name for name, *_ in no_enqueue]
    assert sent.count("support.tasks.embed_ticket") == len(rows) and "support.tasks.triage_ticket_due" not in sent
    oldest, newest = history.get(demo_ref=rows[0]["ref"]), history.get(demo_ref=rows[-1]["ref"])
    assert oldest.category.slug == rows[0]["category"] and oldest.sentiment == rows[0]["sentiment"]
    assert oldest.created_at < newest.created_at < timezone.now() - timedelta(days=29)
    assert triage_progress().total == 0  # history is labelled, never triaged: the inbox banner does not count it

    customer_text = "\n".join(m["body"] for m in rows[0]["messages"] if m["author"] == "customer")
    assert (customer_text, rows[0]["category"]) in ticket_training_examples(task="category")

    again = demo_history_ensure()
    assert again.created == 0 and again.skipped == len(rows) and history.count() == len(rows)


def test_a_bad_demo_history_row_loads_nothing(ticket_categories, no_enqueue, tmp_path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps([{"ref": "H1", "text": "Where is my parcel?", "category": "order-status"},
                                {"ref": "H2", "text": "Love the shop!", "category": "praise"}]))
    with pytest.raises(DemoTicketsError, match="row 2 \\(ref H2\\): unknown category 'praise'"):
        demo_history_ensure(path=path)
    assert not Ticket.objects.exists() and not no_enqueue


def test_seed_demo_reports_the_triage_progress(demo_people, ticket_categories, no_enqueue, monkeypatch, settings, tmp_path):
    monkeypatch.setattr("core.management.commands.seed_demo.catalog_import", lambda directory: type(
        "R", (), {"categories_created": 0, "products_created": 0, "products_updated": 0})())
    monkeypatch.setattr("core.management.commands.seed_demo.demo_orders_ensure", lambda: type(
        "R", (), {"orders_created": 0, "orders_skipped": 0, "customers_created": 0, "orders_without_products": 0})())
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert f"demo tickets: {len(demo_people)} added" in out.getvalue()
    assert f"AI triage: 0 of {len(demo_people)} done" in out.getvalue()
    history = len(json.loads(DEMO_HISTORY_FILE.read_text()))
    assert f"demo ticket history: {history} labelled past tickets added" in out.getvalue()

    out = StringIO()  # the history is not counted as triage work
    call_command("triage_tickets", "--status", stdout=out)
    assert f"AI triage: 0 of {len(demo_people)} done, {len(demo_people)} waiting, 0 failed" in out.getvalue()


def test_agent_corrections_become_training_examples(customer, agent, ticket_categories, no_enqueue):
    seed = ticket_training_examples(task="category")
    ticket = ticket_create(customer=customer, body="Can I rent a kayak for the weekend?")
    ticket_correct(ticket=ticket, agent=agent, field="category", value="product-question")
    ticket_correct(ticket=ticket, agent=agent, field="category", value="feedback")  # the newest wins
    ticket_correct(ticket=ticket, agent=agent, field="urgency", value="low")  # not a head task
    examples = ticket_training_examples(task="category")
    assert len(examples) == len(seed) + 1
    assert ("Can I rent a kayak for the weekend?", "feedback") in examples
    assert ticket_training_examples(task="sentiment") == ticket_training_examples(task="sentiment")[: len(seed)]


def test_admin_shows_ai_failures_the_newest_head_and_reruns_triage(client, customer, ticket_categories, no_enqueue):
    from llm.models import ClassifierHead

    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    ticket = ticket_create(customer=customer, body="hello")
    Ticket.objects.filter(pk=ticket.pk).update(ai_status=JobStatus.FAILED, ai_error="GenerationTimeout: too slow")
    ClassifierHead.objects.create(task="category", version=3, labels=["a", "b"], weights=[[0.0], [0.0]], intercepts=[0, 0],
                                  train_size=80, holdout_size=20, holdout_accuracy=0.85, holdout_macro_f1=0.8)
    page = client.get(reverse("admin:support_ticket_changelist")).content.decode()
    assert "GenerationTimeout: too slow" in page and "Ticket category head v3: holdout accuracy 85%" in page

    client.post(reverse("admin:support_ticket_changelist"), {"action": "retriage", "_selected_action": [ticket.pk]})
    ticket.refresh_from_db()
    assert ticket.ai_status == JobStatus.PENDING and ticket.ai_error == ""
