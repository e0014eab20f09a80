"""The chat bubble in a real browser (Playwright + Debian chromium), with the real worker and Redis.

Screenshots are kept in test-artifacts/chat/ (git-ignored).
"""

import os
import signal
from pathlib import Path

import pytest
from django.conf import settings

from core.jobs import JobStatus
from support.models import ChatTurn, Conversation, Ticket
from support.models.tickets import TicketOrigin
from tests.helpers import celery_worker_start, celery_worker_stop
from tests.factories import UserFactory
from tests.helpers import wait_for

ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "chat"
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

COUNT_ANSWER_UPDATES = """
window.__answerUpdates = 0;
new MutationObserver(function (records) {
  records.forEach(function (r) {
    var target = r.target.nodeType === 1 ? r.target : r.target.parentElement;
    if (target && target.closest(".chat-answer")) window.__answerUpdates += 1;
  });
}).observe(document.getElementById("chat-log"), {subtree: true, childList: true, characterData: true});
"""


def open_chat(page, url):
    page.goto(url)
    page.get_by_role("button", name="Questions? Ask us").click()
    assert page.get_by_role("dialog", name="Trailhead assistant").is_visible()


def sign_in(page, live_server, user):
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password").fill("correct-horse-battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server.url + "/")


def test_a_manual_question_shows_sources_then_a_streamed_answer_with_a_working_citation(
        live_server, browser_page, demo_knowledge, answer_worker):
    page = browser_page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    open_chat(page, live_server.url + "/")
    page.evaluate(COUNT_ANSWER_UPDATES)
    question = "How long does the GloTech headlamp take to charge?"

    page.get_by_label("Your question").fill(question)
    page.get_by_role("button", name="Send").click()

    # sources first: cards linking to the manual at its page
    source = page.locator(".chat-source-link").first
    source.wait_for()
    assert "GloTech" in page.locator(".chat-sources").inner_text()
    # then the answer, sentence by sentence, with checked citations that link to the sources
    page.locator(".chat-feedback").first.wait_for(timeout=400_000)  # done
    cite = page.locator(".chat-answer .chat-cite").first
    assert cite.is_visible(), page.locator(".chat-answer").inner_text()
    assert page.evaluate("window.__answerUpdates") >= 2, "the answer was not streamed"
    turn = ChatTurn.objects.get()
    assert turn.status == JobStatus.DONE and not turn.abstained
    n = int(cite.inner_text().strip("[]"))
    cited = next(s for s in turn.sources if s["n"] == n)
    assert cite.get_attribute("href") == cited["url"]
    page.screenshot(path=str(ARTIFACTS / "01-answer.png"))

    cite.click()
    page.wait_for_url(f"**{cited['url'].split('#')[0]}*")
    assert page.locator("article.kb-article").is_visible()
    if cited["page"]:
        assert page.locator(f"#page-{cited['page']}").is_visible()
    page.screenshot(path=str(ARTIFACTS / "02-cited-manual.png"))
    # the chat stays open with its conversation on the next page
    assert page.locator(".chat-question").first.inner_text() == question

    page.get_by_role("button", name="Helpful").first.click()
    wait_for(lambda: ChatTurn.objects.get().rating == 1, timeout=10)


def test_an_anonymous_order_question_offers_sign_in_and_markup_stays_text(live_server, browser_page,
                                                                                celery_worker_process):
    page = browser_page
    open_chat(page, live_server.url + "/")
    question = '<img src=x onerror="window.__xss=1"> where is my order?? مرحبا 🚚'

    page.get_by_label("Your question").fill(question)
    page.get_by_role("button", name="Send").click()

    sign_in_link = page.locator(".chat-actions").get_by_role("link", name="Sign in")
    sign_in_link.wait_for(timeout=60_000)
    assert page.locator(".chat-question").first.inner_text() == question
    assert page.evaluate("window.__xss") is None
    assert page.locator(".chat-answer").first.inner_text().strip()  # the sign-in prompt, or what the policies say
    assert "/accounts/login/?next=" in sign_in_link.get_attribute("href")


def test_an_empty_or_oversized_question_gets_a_message_in_the_chat(live_server, browser_page):
    page = browser_page
    open_chat(page, live_server.url + "/")

    page.get_by_role("button", name="Send").click()
    assert page.get_by_role("alert").inner_text() == "Please type a question."

    page.get_by_label("Your question").evaluate("(el) => { el.removeAttribute('maxlength'); el.value = 'x'.repeat(10001); }")
    page.get_by_role("button", name="Send").click()
    assert "too long" in page.get_by_role("alert").inner_text()
    assert not ChatTurn.objects.exists()


def test_a_customer_asks_for_a_human_and_finds_the_ticket_under_my_support_requests(live_server, browser_page, demo_knowledge,
                                                                    celery_worker_process):
    page = browser_page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    customer = UserFactory(email="hiker@example.com", first_name="Robin")
    sign_in(page, live_server, customer)
    open_chat(page, live_server.url + "/")

    page.get_by_label("Your question").fill("My UltraTent pole snapped on the first night. I want to talk to a person.")
    page.get_by_role("button", name="Talk to a human").click()

    note = page.locator(".chat-handoff")
    note.wait_for()
    ticket = Ticket.objects.get()
    assert f"#{ticket.number}" in note.inner_text()
    assert ticket.customer == customer and ticket.origin == TicketOrigin.CHAT
    assert "UltraTent pole snapped" in ticket.messages.get().body
    assert Conversation.objects.get().ticket == ticket
    page.screenshot(path=str(ARTIFACTS / "03-handoff.png"))

    note.get_by_role("link", name="Follow it under My support requests").click()
    page.wait_for_load_state()
    page.goto(live_server.url + "/support/requests/")
    page.get_by_role("heading", name="My support requests").wait_for()
    page.get_by_role("link", name=f"#{ticket.number}").click()
    page.wait_for_load_state()
    assert "UltraTent pole snapped" in page.locator(".thread").inner_text()
    page.screenshot(path=str(ARTIFACTS / "04-my-support-requests.png"))


def test_killing_the_worker_mid_answer_shows_a_failure_and_the_customer_can_retry(
        live_server, browser_page, demo_knowledge, settings, monkeypatch):
    """A worker of its own, on a queue of its own (so no other test worker can take the turn), running the
    0.5B model so the answer takes long enough to be killed in the middle of it."""
    from support.tasks import llm_answer_chat_turn

    settings.CHAT_STALL_SECONDS = 9  # the worker's heartbeat beats every 3 s
    queue = f"llm-kill-{os.getpid()}"
    monkeypatch.setattr(llm_answer_chat_turn, "delay", lambda turn_id: llm_answer_chat_turn.apply_async((turn_id,), queue=queue))
    worker = celery_worker_start(queues=queue, llm_model="qwen2.5-coder-0.5b", name="kill", env={"CHAT_STALL_SECONDS": "9"})
    page = browser_page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        open_chat(page, live_server.url + "/")
        page.get_by_label("Your question").fill("How do I unlock the GloTech headlamp after it was locked?")
        page.get_by_role("button", name="Send").click()
        page.locator(".chat-source-link").first.wait_for(timeout=60_000)  # sources come from the web process
        wait_for(lambda: ChatTurn.objects.filter(status=JobStatus.RUNNING).exists(), timeout=60)  # the worker is answering

        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

        failed = page.locator(".chat-failed")
        failed.wait_for(timeout=30_000)
        assert "stopped before finishing" in failed.inner_text()
        turn = ChatTurn.objects.get()
        assert turn.status == JobStatus.FAILED and turn.attempts == 1
        page.screenshot(path=str(ARTIFACTS / "04-worker-killed.png"))

        worker = celery_worker_start(queues=queue, llm_model="smollm2-135m", name="kill", env={"CHAT_STALL_SECONDS": "9"})
        page.get_by_role("button", name="Try again").click()
        page.locator(".chat-turn .chat-feedback").first.wait_for(timeout=90_000)  # answered this time
        turn.refresh_from_db()
        assert turn.status == JobStatus.DONE and turn.attempts == 2
        assert page.locator(".chat-failed").count() == 0
        page.screenshot(path=str(ARTIFACTS / "05-retried.png"))
    finally:
        if worker.poll() is None:
            celery_worker_stop(worker)
