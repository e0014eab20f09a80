"""The issue 14 migrations move the job rows to the shared fields and vocabulary (core.jobs) without
losing data, and back."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import UserFactory

BEFORE = [("support", "0009_merge_issue12_issue13_issue15")]
AFTER = [("support", "0011_issue14_job_status_values")]

pytestmark = pytest.mark.django_db(transaction=True)  # migrating runs outside the test's transaction


@pytest.fixture(autouse=True)
def back_to_the_latest_schema():
    yield
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())  # even after a failure half-way: the latest schema


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_old_job_rows_keep_their_data_and_speak_the_shared_vocabulary_after_migrating_and_back():
    # Given job rows as they were written before issue 14
    customer = UserFactory()
    apps = migrate(BEFORE)
    conversation = apps.get_model("support", "Conversation").objects.create()
    turn = apps.get_model("support", "ChatTurn").objects.create(conversation=conversation, question="q", status="streaming")
    documents = apps.get_model("support", "KnowledgeDocument").objects
    indexed = documents.create(title="a", slug="a", kind="policy", index_status="indexed")
    broken = documents.create(title="b", slug="b", kind="policy", index_status="failed", index_error="unreadable")
    ticket = apps.get_model("support", "Ticket").objects.create(customer_id=customer.pk, ai_status="failed", ai_last_error="timeout")

    # When the migrations run
    apps = migrate(AFTER)

    # Then the values are the shared ones, under the shared names
    assert apps.get_model("support", "ChatTurn").objects.get(pk=turn.pk).status == "running"
    documents = apps.get_model("support", "KnowledgeDocument").objects
    assert documents.get(pk=indexed.pk).status == "done"
    assert (documents.get(pk=broken.pk).status, documents.get(pk=broken.pk).error) == ("failed", "unreadable")
    assert apps.get_model("support", "Ticket").objects.get(pk=ticket.pk).ai_error == "timeout"

    # And migrating back restores the old words and names
    apps = migrate(BEFORE)
    assert apps.get_model("support", "ChatTurn").objects.get(pk=turn.pk).status == "streaming"
    old = apps.get_model("support", "KnowledgeDocument").objects.get(pk=broken.pk)
    assert (apps.get_model("support", "KnowledgeDocument").objects.get(pk=indexed.pk).index_status, old.index_error) == ("indexed", "unreadable")
    assert apps.get_model("support", "Ticket").objects.get(pk=ticket.pk).ai_last_error == "timeout"
