"""The analytics dashboard in a real browser, with the demo tickets: every chart, a CSV export, and a
question answered by the real worker (SmolLM2 in tests) with its SQL and table.

Screenshots are kept in test-artifacts/analytics/ (git-ignored).
"""

import json
from pathlib import Path

import pytest
from django.conf import settings

from evaluation.ask_data import sample_support_data_ensure
from support.analytics.charts import CHARTS
from support.models import DataQuestion
from tests.factories import UserFactory
from tests.support.factories import TaskRunFactory

ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "analytics"
DEMO_TICKETS = Path(settings.BASE_DIR) / "support" / "demo_data" / "demo_tickets.json"


@pytest.fixture
def demo_support_data(db):
    """The 69 demo tickets (as triaged, with corrections and chats) and some task runs."""
    for email in {row["customer_email"] for row in json.loads(DEMO_TICKETS.read_text())}:
        UserFactory(email=email)
    sample_support_data_ensure()
    for seconds in (1.5, 2.5, 9.0):
        TaskRunFactory(task_name="support.tasks.llm_triage_ticket", seconds=seconds)
    TaskRunFactory(task_name="eshop.tasks.embed_product", queue="embed", seconds=0.2, status="failure", error="ModelFileError")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_admin_sees_every_chart_exports_csv_and_asks_the_data(live_server, browser_page, demo_support_data, celery_worker_process):
    page = browser_page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    admin = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)

    page.goto(live_server.url + "/admin/login/")
    page.get_by_label("E-mail address").fill(admin.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Support analytics dashboard").click()
    page.wait_for_url("**/admin/analytics/")
    page.get_by_label("From").fill("2026-01-01")  # a range holding every demo ticket (up to 100 days old)
    page.get_by_role("button", name="Show").click()
    page.wait_for_load_state()

    for spec in CHARTS:
        card = page.locator(f"[data-chart={spec.key}]")
        assert card.get_by_role("heading", name=spec.title).is_visible()
        assert card.locator("svg.analytics-chart").is_visible(), spec.key
        assert card.locator("svg.analytics-chart rect").count() > 1, spec.key
        assert card.get_by_test_id("empty-state").count() == 0
    page.screenshot(path=str(ARTIFACTS / "01-dashboard.png"), full_page=True)

    with page.expect_download() as download:
        page.locator("[data-chart=backlog]").get_by_role("link", name="Export CSV").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == "status,tickets"
    assert sum(int(line.split(",")[1]) for line in lines[1:]) == 69

    page.get_by_label("Your question").fill("How many tickets per status were opened in the last 30 days?")
    page.get_by_role("button", name="Ask").click()
    page.wait_for_url("**/admin/analytics/ask/*/")
    page.screenshot(path=str(ARTIFACTS / "02-asking.png"), full_page=True)
    page.locator("[data-finished=true]").wait_for(timeout=150_000)
    page.screenshot(path=str(ARTIFACTS / "03-answer.png"), full_page=True)

    asked = DataQuestion.objects.get()
    assert page.get_by_test_id("sql").is_visible()
    assert page.get_by_test_id("sql").inner_text().upper().startswith(("SELECT", "WITH"))
    # SmolLM2 (the test worker's model) is weak at SQL: the page shows either the table or why not, in words.
    if asked.status == "done":
        assert page.get_by_test_id("result-table").is_visible() or page.get_by_test_id("result-empty").is_visible()
    else:
        assert page.get_by_test_id("refusal").inner_text() == asked.error and asked.error
    assert asked.asked_by == admin and asked.seconds_total is not None
