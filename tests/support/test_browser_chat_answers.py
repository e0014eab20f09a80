"""What the customer sees of an answer, in a real browser with the real worker and the default model:
the instant quote first, then checked sentences only (nothing shown is taken back), abstention with
the offer of a human, and follow-ups understood from the conversation. Slow: a few answers of the
1.5B model on 2 cores; kept to the few that the issue asks for."""

import pytest

from core.jobs import JobStatus
from llm.services.answer import ABSTENTION
from support.models import ChatTurn
from tests.support.test_browser_chat import open_chat

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ANSWER_MS = 400_000

# Every text the answer paragraph shows, in order: a text that is not a prefix of the next one was taken back.
RECORD_ANSWER_TEXTS = """
window.__answerTexts = [];
new MutationObserver(function () {
  var node = document.querySelector(".chat-turn:last-child .chat-answer");
  var text = node ? node.textContent : "";
  var seen = window.__answerTexts;
  if (!seen.length || seen[seen.length - 1] !== text) seen.push(text);
}).observe(document.getElementById("chat-log"), {subtree: true, childList: true, characterData: true});
"""


def ask(page, question):
    page.get_by_label("Your question").fill(question)
    page.get_by_role("button", name="Send").click()


def wait_answered(page, n):
    page.locator(".chat-turn").nth(n - 1).locator(".chat-feedback").wait_for(timeout=ANSWER_MS)
    return page.locator(".chat-turn").nth(n - 1).locator(".chat-answer").inner_text()


def test_the_instant_quote_shows_first_and_no_answer_text_is_taken_back(live_server, browser_page, demo_knowledge,
                                                                       answer_worker):
    page = browser_page
    open_chat(page, live_server.url + "/")
    page.evaluate(RECORD_ANSWER_TEXTS)

    ask(page, "what's the charging time for the GloTech headlamp")

    instant = page.locator(".chat-instant")
    instant.wait_for(timeout=15_000)
    assert instant.inner_text().startswith("From the GloTech") and "3 hours" in instant.inner_text()
    assert page.locator(".chat-answer").inner_text() == "", "the quote comes before any generated text"
    answer = wait_answered(page, 1)
    assert "3 hours" in answer and page.locator(".chat-answer .chat-cite").count() >= 1
    texts = [t for t in page.evaluate("window.__answerTexts") if t]
    assert texts and texts[-1] == answer
    assert all(later.startswith(earlier) for earlier, later in zip(texts, texts[1:])), texts


def test_an_unanswerable_question_gets_the_abstention_and_the_offer_of_a_human(live_server, browser_page, demo_knowledge,
                                                                                answer_worker):
    page = browser_page
    open_chat(page, live_server.url + "/")

    ask(page, "What does the GloTech headlamp cost in Swiss francs?")

    assert wait_answered(page, 1) == ABSTENTION
    assert page.locator(".chat-turn .chat-offer-human").is_visible()
    assert ChatTurn.objects.get().abstained


def test_a_follow_up_is_searched_in_the_conversation_and_never_answered_with_another_fact(
        live_server, browser_page, demo_knowledge, answer_worker):
    """The follow-up names no product: it is searched as a question about the headlamp of the turn
    before. The answer is the charging time or, when the model's sentence does not state it, the
    abstention; nothing else. (Qwen 1.5B answers this one with "Charge it fully before your first
    trip", which the figure check refuses: follow-up recall is measured by `make eval`, issue 11.)"""
    page = browser_page
    open_chat(page, live_server.url + "/")
    ask(page, "How bright is the GloTech headlamp on high?")
    wait_answered(page, 1)

    ask(page, "and how long does it take to charge?")

    answer = wait_answered(page, 2)
    assert "3 hours" in answer or answer == ABSTENTION, answer
    follow_up = ChatTurn.objects.order_by("id").last()
    assert follow_up.status == JobStatus.DONE and follow_up.sources
    assert all("GloTech" in s["title"] for s in follow_up.sources if s["kind"] == "manual"), follow_up.sources
