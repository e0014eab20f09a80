"""Triage with the shop's own category set and labels: the set is read when the run starts (a category
renamed or deactivated while the ticket waited is respected), and an agent's correction is shown to
the next similar ticket as a retrieved example.

The SLM is a stand-in that answers from the prompt (unit tests of the plumbing); the embeddings are real.
"""

import re

import pytest

from support.models import Ticket, TicketCategory
from support.services.tickets import ticket_correct, ticket_create
from support.services.triage import ticket_embed, ticket_triage_run

pytestmark = pytest.mark.django_db


class FollowsExamples:
    """Answers the category question with the slug of the first example shown, else with the first slug."""

    name = "follows-examples"

    def __init__(self):
        self.prompts: list[list[dict]] = []
        self.last_usage = type("Usage", (), {"completion_tokens": 1})()

    def option_probabilities(self, messages, *, options, answer_prefix=""):  # urgency and attitude levels
        return [1 / len(options)] * len(options)

    def text_probabilities(self, messages, *, texts, answer_prefix=""):
        if not answer_prefix.startswith('{"category"'):  # the attitude level by its name
            return [1 / len(texts)] * len(texts)
        self.prompts.append(messages)
        shown = re.findall(r"^- '.*': (.+)$", messages[-1]["content"], re.MULTILINE)
        wanted = shown[0] if shown else texts[0]
        return [0.9 if text == wanted else 0.1 / (len(texts) - 1) for text in texts]

    def continue_texts(self, messages, *, answer_prefixes, max_tokens, stops):
        return ["Plain words"] * len(answer_prefixes)


@pytest.fixture
def model(monkeypatch):
    fake = FollowsExamples()
    monkeypatch.setattr("llm.engine.generator", lambda name=None: fake)
    return fake


def _category_prompt(model) -> str:
    return "\n".join(m["content"] for m in model.prompts[-1])


def test_a_category_renamed_or_deactivated_while_queued_is_respected(customer, ticket_categories, no_enqueue, model):
    ticket = ticket_create(customer=customer, body="Where is my parcel? It is late.")  # queued, not run yet
    TicketCategory.objects.filter(slug="order-status").update(name="Parcel tracking")
    TicketCategory.objects.filter(slug="account").update(is_active=False)

    assert ticket_triage_run(ticket_id=ticket.pk) == "done"

    prompt = _category_prompt(model)
    assert "Parcel tracking." in prompt and "Order status & delivery" not in prompt
    assert "Account & login." not in prompt
    ticket.refresh_from_db()
    assert ticket.category.slug == "billing-payment"  # the first active category now, not the inactive account


def test_a_category_deactivated_during_the_run_is_not_applied(customer, ticket_categories, no_enqueue, model, monkeypatch):
    from llm.services import triage

    real = triage.triage_ticket

    def deactivating(**kwargs):
        result = real(**kwargs)
        TicketCategory.objects.filter(slug=result.category).update(is_active=False)
        return result

    monkeypatch.setattr(triage, "triage_ticket", deactivating)
    ticket = ticket_create(customer=customer, body="Where is my parcel?")

    assert ticket_triage_run(ticket_id=ticket.pk) == "done"

    ticket.refresh_from_db()
    assert ticket.category is None and ticket.category_method == "" and ticket.title == "Plain words"


def test_a_correction_changes_the_next_similar_prediction(customer, agent, ticket_categories, no_enqueue, model):
    first = ticket_create(customer=customer, body="The stove I bought does not light any more, what now?")
    ticket_triage_run(ticket_id=first.pk)
    first.refresh_from_db()
    assert first.category.slug == "account"  # the stand-in's answer without examples (the first slug)

    ticket_correct(ticket=first, agent=agent, field="category", value="defect-warranty")
    ticket_embed(ticket_id=first.pk)
    second = ticket_create(customer=customer, body="My camping stove will not light anymore. What should I do?")
    ticket_triage_run(ticket_id=second.pk)

    second.refresh_from_db()
    assert second.category.slug == "defect-warranty" and second.category_method == "slm+examples"
    example = re.findall(r"^- '(.*)': (.+)$", _category_prompt(model), re.MULTILINE)
    assert example == [("The stove I bought does not light any more, what now?", "defect-warranty")]
    unrelated = ticket_create(customer=customer, body="Please change the e-mail address on my account.")
    ticket_triage_run(ticket_id=unrelated.pk)
    assert Ticket.objects.get(pk=unrelated.pk).category_method == "slm"  # not similar: no example shown
