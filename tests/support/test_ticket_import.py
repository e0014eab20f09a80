"""`manage.py import_tickets`: labelled history in, all or nothing, a clear error per bad row."""

import json

import pytest
from django.core.management import CommandError, call_command

from support.models import Ticket
from support.models.tickets import TicketOrigin
from support.services.ticket_import import TicketImportError, tickets_import

pytestmark = pytest.mark.django_db


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_a_json_file_is_imported_with_its_labels_as_agent_labels(tmp_path, ticket_categories, no_enqueue,
                                                                  django_capture_on_commit_callbacks):
    path = _write(tmp_path, "history.json", {"tickets": [
        {"ref": "A1", "messages": [{"author": "customer", "body": "My tent pole snapped on day one."},
                                   {"author": "agent", "body": "Sorry! A new pole is on its way."}],
         "category": "defect-warranty", "sentiment": "negative", "satisfaction": 4},
        {"ref": "A2", "text": "How do I change my password?", "category": "Account"},
    ]})

    with django_capture_on_commit_callbacks(execute=True):
        assert tickets_import(path=path) == 2

    first, second = Ticket.objects.filter(origin=TicketOrigin.IMPORT).order_by("id")
    assert (first.category.slug, first.sentiment, first.category_method) == ("defect-warranty", "negative", "import")
    assert set(first.agent_fields) == {"category", "sentiment"} and first.messages.count() == 2
    assert second.category.slug == "account" and second.sentiment == ""
    assert sorted(name for name, *_ in no_enqueue) == ["support.tasks.embed_ticket"] * 2  # embedded, not triaged


def test_bad_rows_are_each_reported_and_nothing_is_imported(tmp_path, ticket_categories, no_enqueue):
    path = _write(tmp_path, "history.json", [
        {"ref": "ok", "text": "Where is my parcel?", "category": "order-status"},
        {"ref": "b1", "text": "Hello", "category": "shipping-to-mars"},
        {"ref": "b2", "messages": [{"author": "agent", "body": "Hi"}]},
        {"text": "Meh", "sentiment": "grumpy", "satisfaction": "7"},
        {"ref": "ok", "text": "dup"},
        "not an object",
    ])

    with pytest.raises(TicketImportError) as caught:
        tickets_import(path=path)

    errors = caught.value.errors
    assert errors[0] == "row 2 (ref b1): unknown category 'shipping-to-mars'"
    assert errors[1] == "row 3 (ref b2): no customer message"
    assert "row 4: sentiment 'grumpy' is not one of" in errors[2] and "satisfaction '7' is not an integer from 1 to 5" in errors[2]
    assert "row 5 (ref ok): ref 'ok' appears twice" in errors[3]
    assert errors[4] == "row 6: not an object"
    assert not Ticket.objects.filter(origin=TicketOrigin.IMPORT).exists() and no_enqueue == []


def test_csv_and_the_command(tmp_path, ticket_categories, no_enqueue, capsys):
    good = _write(tmp_path, "history.csv", "text,category,sentiment,satisfaction\n"
                                          "\"Refund, please: the jacket is too big\",returns-refunds,neutral,3\n")
    call_command("import_tickets", str(good))
    assert "Imported 1 tickets" in capsys.readouterr().out
    assert Ticket.objects.get(origin=TicketOrigin.IMPORT).messages.get().body == "Refund, please: the jacket is too big"

    bad = _write(tmp_path, "bad.csv", "text,category\n,account\n")
    with pytest.raises(CommandError, match="row 1: needs `text` or `messages`"):
        call_command("import_tickets", str(bad))
    with pytest.raises(CommandError, match="must end in .json or .csv"):
        call_command("import_tickets", str(_write(tmp_path, "x.txt", "hi")))
    with pytest.raises(CommandError, match="invalid JSON"):
        call_command("import_tickets", str(_write(tmp_path, "x.json", "{nope")))
    assert Ticket.objects.filter(origin=TicketOrigin.IMPORT).count() == 1
