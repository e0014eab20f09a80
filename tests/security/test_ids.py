"""Attack suite, ids (issue 13, Low): '²'.isdigit() is True and int('²') raises; ids from outside are
parsed strictly (core/ids.py) and a bad one is a 404, a 400 or "no match", never a 500."""

import pytest
from django.urls import reverse

from core.ids import parse_id
from tests.support.factories import TicketFactory
from tests.security.fixtures import agent, agent_client, customer  # noqa: F401 - fixtures

BAD = ["²", "١٢", "12\n", " 12", "-1", "+1", "1e3", "", "9" * 30]


@pytest.mark.parametrize("value", BAD + [None, True, 1.0, ["1"], 10**18])
def test_parse_id_accepts_only_short_ascii_digits(value):
    assert parse_id(value) is None


def test_parse_id_reads_plain_ids():
    assert (parse_id("42"), parse_id(7), parse_id("0")) == (42, 7, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("value", BAD)
@pytest.mark.parametrize("param", ["assignee", "product", "q"])
def test_the_desk_inbox_filters_never_fail_on_odd_ids(agent_client, param, value):
    TicketFactory()
    value = f"#{value}" if param == "q" else value

    response = agent_client.get(reverse("support:desk-inbox"), {param: value})

    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("value", BAD)
def test_the_desk_api_search_and_filters_answer_400_or_200(agent_client, value):
    TicketFactory()
    url = reverse("api-desk-ticket-list")

    assert agent_client.get(url, {"q": f"#{value}"}).status_code == 200
    assert agent_client.get(url, {"assignee": value}).status_code in (200, 400)
    assert agent_client.get(url, {"product": value}).status_code in (200, 400)


@pytest.mark.django_db
@pytest.mark.parametrize("value", [v for v in BAD if v])  # an empty assignee means "unassign"
def test_assigning_to_an_odd_id_is_a_message_not_a_500(agent_client, value):
    ticket = TicketFactory()

    response = agent_client.post(reverse("support:desk-ticket-update", args=[ticket.number]),
                                 {"action": "assign", "assignee": value}, follow=True)

    assert response.status_code == 200
    assert "Tickets can only be assigned to support agents." in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.assignee is None


@pytest.mark.django_db
@pytest.mark.parametrize("value", [value for value in BAD if value])
def test_the_knowledge_list_answers_an_odd_product_id_with_a_clear_400(agent_client, value):
    response = agent_client.get(reverse("knowledge-api-documents"), {"product": value})

    assert response.status_code == 400
    assert "No product with the slug or id" in response.json()["product"][0]


@pytest.mark.django_db
def test_a_ticket_number_too_big_for_the_database_is_404(agent_client, client, customer):
    huge = "9" * 25

    assert agent_client.get(f"/support/desk/tickets/{huge}/").status_code == 404
    client.force_login(customer)
    assert client.get(f"/support/requests/{huge}/").status_code == 404
    assert client.get(f"/api/support/tickets/{huge}/").status_code == 404
