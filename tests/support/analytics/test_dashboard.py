import csv
import re
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from support.analytics.charts import CHARTS
from support.analytics.svg import bar_chart
from tests.factories import UserFactory
from tests.support.analytics.conftest import staff_with
from tests.support.factories import (ChatTurnFactory, ConversationFactory, TaskRunFactory, TicketCategoryFactory,
                                     TicketCorrectionFactory, TicketFactory, days_ago)

pytestmark = pytest.mark.django_db
DASHBOARD = "/admin/analytics/"


@pytest.fixture
def data():
    category = TicketCategoryFactory(slug="returns", name="Returns & <b>refunds</b>")
    ticket = TicketFactory(category=category, created_at=days_ago(2), first_response_at=timezone.now(), resolved_at=timezone.now(),
                           status="resolved")
    TicketCorrectionFactory(ticket=ticket, field="sentiment")
    ChatTurnFactory(conversation=ConversationFactory(), rating=1)
    TaskRunFactory()
    return ticket


def test_dashboard_shows_every_chart_as_svg_with_a_csv_link(admin_client, data):
    response = admin_client.get(DASHBOARD)

    assert response.status_code == 200
    html = response.content.decode()
    for spec in CHARTS:
        assert spec.title in html
        assert reverse("analytics:chart-csv", args=[spec.key]) in html
    assert html.count('class="analytics-chart"') == len(CHARTS)
    assert "No data in this date range" not in html


def test_category_names_are_escaped_in_the_charts(admin_client, data):
    html = admin_client.get(DASHBOARD).content.decode()

    assert "<b>refunds</b>" not in html
    assert "&lt;b&gt;refunds&lt;/b&gt;" in html


def test_an_empty_range_shows_an_empty_state_for_every_chart(admin_client, data):
    response = admin_client.get(DASHBOARD, {"start": "2020-01-01", "end": "2020-01-31"})

    assert response.status_code == 200
    assert response.content.decode().count('data-testid="empty-state"') == len(CHARTS)


@pytest.mark.parametrize("params, message", [
    ({"start": "2026-05-01", "end": "2026-04-01"}, "The start date must be on or before the end date."),
    ({"start": "2020-01-01", "end": "2026-01-01"}, "Pick a range of at most 366 days."),
    ({"start": "not-a-date"}, "Enter a valid date."),
])
def test_a_bad_range_says_why_and_shows_the_default_range(admin_client, data, params, message):
    response = admin_client.get(DASHBOARD, params)

    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "Showing the last 30 days instead." in html
    assert html.count('class="analytics-chart"') == len(CHARTS)


def test_csv_export_has_the_header_and_the_rows_of_the_range(admin_client, data):
    response = admin_client.get(reverse("analytics:chart-csv", args=["tickets-per-day"]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [["day", "category", "tickets"], [str(data.created_at.date()), "Returns & <b>refunds</b>", "1"]]


def test_csv_export_of_an_empty_range_is_just_the_header(admin_client, data):
    response = admin_client.get(reverse("analytics:chart-csv", args=["task-latency"]), {"start": "2020-01-01", "end": "2020-01-02"})

    assert response.content.decode().strip() == "task,queue,runs,failures,failure_rate,median_seconds,p90_seconds"


def test_csv_export_of_an_unknown_chart_is_not_found(admin_client):
    assert admin_client.get("/admin/analytics/export/passwords.csv").status_code == 404


def test_admin_index_links_the_dashboard(admin_client):
    assert reverse("analytics:dashboard") in admin_client.get("/admin/").content.decode()


@pytest.mark.parametrize("url", [DASHBOARD, "/admin/analytics/export/backlog.csv"])
def test_anonymous_and_customers_are_sent_to_the_admin_login(client, url):
    assert client.get(url).status_code == 302
    assert "/admin/login/" in client.get(url)["Location"]
    client.force_login(UserFactory())
    response = client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("url", [DASHBOARD, "/admin/analytics/export/backlog.csv"])
def test_staff_without_the_permission_are_refused(client, url):
    client.force_login(staff_with())
    assert client.get(url).status_code == 403


def test_staff_with_the_view_permission_see_the_dashboard_but_not_the_question_box(client, data):
    client.force_login(staff_with("view_analytics_dashboard"))

    response = client.get(DASHBOARD)

    assert response.status_code == 200
    assert 'id="ask-the-data"' not in response.content.decode()
    assert reverse("analytics:dashboard") in client.get("/admin/").content.decode()


def test_sentiment_series_follow_the_scale_whatever_day_they_first_appear(admin_client):
    TicketFactory(sentiment="negative", created_at=days_ago(3))
    TicketFactory(sentiment="very_positive", created_at=days_ago(2))
    TicketFactory(sentiment="very_negative", created_at=days_ago(1))

    html = admin_client.get(DASHBOARD).content.decode()
    svg = html[html.index('data-chart="sentiment"'):]
    legend = [svg.index(f">{level}</text>") for level in ("very_negative", "negative", "very_positive")]

    assert legend == sorted(legend)


def test_each_sentiment_level_has_its_own_fixed_colour_negative_red_unknown_not(admin_client):
    TicketFactory(sentiment="negative", created_at=days_ago(2))
    TicketFactory(sentiment="", created_at=days_ago(1))  # not triaged yet: "unknown"

    html = admin_client.get(DASHBOARD).content.decode()
    svg = html[html.index('data-chart="sentiment"'):]
    svg = svg[:svg.index("</svg>")]

    assert re.search(r'fill="#f87171"/><text[^>]*>negative</text>', svg)  # a red, not the palette's first blue
    assert re.search(r'fill="#cbd5e1"/><text[^>]*>unknown</text>', svg)  # pale slate: no data, not red
    assert "#2563eb" not in svg and "#dc2626" not in svg


def test_labels_too_wide_for_their_slot_turn_and_get_room_below_the_axis():
    names = ["llm_answer_chat_turn (0% failed)", "llm_triage_ticket (5% failed)", "embed_knowledge_document (0% failed)",
             "llm_data_question_answer (0% failed)", "embed_product (0% failed)"]

    wide = bar_chart(labels=names, series={"Median": [1, 2, 3, 4, 5]})
    short = bar_chart(labels=["a", "b"], series={"Median": [1, 2]})

    assert wide.count("rotate(-40") == len(names) and "rotate(" not in short
    assert all(f">{name}</text>" in wide for name in names)  # whole names, not cut to 16 characters
    wide_height, short_height = (float(re.search(r'viewBox="0 0 \d+ (\d+)"', svg).group(1)) for svg in (wide, short))
    assert wide_height > short_height + 60
