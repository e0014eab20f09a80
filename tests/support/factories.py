"""Factories for the support area (tickets, corrections, chat) and task runs; the shop's are in tests/factories.py."""

import datetime as dt

import factory
from django.utils import timezone

from core.jobs import JobStatus
from llm.models import TaskRun
from support.models import ChatTurn, Conversation, DataQuestion, Ticket, TicketCategory, TicketCorrection
from tests.factories import UserFactory


class TicketCategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketCategory
        django_get_or_create = ["slug"]

    slug = factory.Sequence(lambda n: f"topic-{n}")
    name = factory.LazyAttribute(lambda o: o.slug.replace("-", " ").capitalize())
    description = "Questions about this topic."


class TicketFactory(factory.django.DjangoModelFactory):
    """A triaged ticket (ai_status done) from a customer."""

    class Meta:
        model = Ticket

    customer = factory.SubFactory(UserFactory)
    subject = "My headlamp will not charge"
    title = "Headlamp does not charge"
    summary = "The customer's headlamp stopped charging after a week."
    category = factory.SubFactory(TicketCategoryFactory)
    sentiment = "negative"
    urgency = "normal"
    language = "en"
    ai_status = JobStatus.DONE
    created_at = factory.LazyFunction(timezone.now)
    last_activity_at = factory.LazyAttribute(lambda o: o.created_at)


class TicketCorrectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TicketCorrection

    ticket = factory.SubFactory(TicketFactory)
    field = "category"
    from_value = "product-question"
    to_value = "returns"


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    user = factory.SubFactory(UserFactory)
    created_at = factory.LazyFunction(timezone.now)


class ChatTurnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChatTurn

    conversation = factory.SubFactory(ConversationFactory)
    question = "What battery does the headlamp take?"
    answer = "A rechargeable 1200 mAh Li-ion battery [1]."
    status = "done"
    created_at = factory.LazyAttribute(lambda o: o.conversation.created_at)


class TaskRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaskRun

    task_id = factory.Sequence(lambda n: f"task-{n}")
    task_name = "support.tasks.llm_triage_ticket"
    queue = "llm"
    status = TaskRun.Status.SUCCESS
    started_at = factory.LazyFunction(timezone.now)
    seconds = 2.0


class DataQuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DataQuestion

    question = "How many tickets are open?"


def days_ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)
