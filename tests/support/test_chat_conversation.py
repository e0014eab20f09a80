"""The chat answer path over the real knowledge base, database and Redis, with a fake model (unit
tests of the service: the model is replaced by canned JSON; the real models run in test_chat_worker
and the browser tests): conversation context, instant quote, sentence events, agent questions."""

import json
from types import SimpleNamespace

import pytest

from core.jobs import JobStatus
from support.models import ChatTurn, Conversation
from support.models.chat import ConversationKind
from support.services.chat import chat_turn_prepare
from support.services.chat_answering import SIGN_IN_FOR_ORDERS, chat_turn_answer
from support.services.chat_events import redis_client, turn_events_key
from support.services.chat_sources import _with_the_named_row, chat_sources_for_turn, chat_turn_context, complaint_to_question
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


class FakeModel:
    """Stands in for the SLM (unit test): replies `reply` in small pieces, records the prompts."""

    def __init__(self, reply: dict, judged: float = 0.9):
        self.reply, self.calls, self.judged = json.dumps(reply), [], judged

    def stream(self, messages, **kwargs):
        self.calls.append(messages)
        for i in range(0, len(self.reply), 5):
            yield self.reply[i:i + 5]

    def count_tokens(self, messages):
        return 1

    def option_probabilities(self, messages, *, options, answer_prefix="", aside=False):
        return [self.judged, 1 - self.judged]  # reads any answer back as answering the question this likely


@pytest.fixture
def fake_model(monkeypatch):
    def install(reply, judged=0.9):
        fake = FakeModel(reply, judged)
        monkeypatch.setattr("llm.engine.generator", lambda name=None: fake)
        return fake
    return install


def _events(turn_id):
    return [json.loads(e) for e in redis_client().lrange(turn_events_key(turn_id), 0, -1)]


def _turn(question, conversation=None, **kw):
    conversation = conversation or Conversation.objects.create(session_key="s")
    return ChatTurn.objects.create(conversation=conversation, question=question, **kw)


def test_sources_and_the_instant_quote_are_published_before_the_worker_runs(demo_knowledge):
    turn = _turn("How long does the GloTech headlamp take to charge?")

    assert chat_turn_prepare(turn_id=turn.pk)

    sources, instant = _events(turn.pk)
    assert sources["type"] == "sources" and sources["i"] == 0 and sources["attempt"] == 1
    assert instant["type"] == "instant" and instant["i"] == 1
    assert instant["label"].startswith("From the GloTech") and "page" in instant["label"]
    assert "3 hours" in instant["quote"] and instant["seconds"] < 5
    turn.refresh_from_db()
    assert turn.status == JobStatus.PENDING and turn.sources == sources["sources"]


def test_the_worker_continues_the_events_and_streams_only_checked_sentences(demo_knowledge, fake_model):
    turn = _turn("How long does the GloTech headlamp take to charge?")
    chat_turn_prepare(turn_id=turn.pk)
    n = next(s["n"] for s in ChatTurn.objects.get(pk=turn.pk).sources if "page 1" in s["title"])
    fake_model({"answer_from": [n], "sentences": [
        {"cite": n, "quote": "about 3 hours", "text": "A full charge takes about 3 hours."},
        {"cite": n, "quote": "about 3 hours", "text": "It costs 15 euros."},
    ]})

    assert chat_turn_answer(turn_id=turn.pk)

    events = _events(turn.pk)
    assert [e["type"] for e in events] == ["sources", "instant", "sentence", "done"]
    assert [e["i"] for e in events] == [0, 1, 2, 3] and {e["attempt"] for e in events} == {1}
    assert events[2]["text"] == f"A full charge takes about 3 hours [{n}]."
    turn.refresh_from_db()
    assert turn.status == JobStatus.DONE and turn.answer == events[2]["text"] and turn.removed_citations == 1
    assert turn.answer_judged == pytest.approx(0.9) and turn.prompt_tokens == 1
    assert "euros" not in json.dumps(events)


def test_an_answer_the_model_reads_back_as_off_target_is_stored_as_the_abstention_with_its_score(demo_knowledge, fake_model):
    from llm.services.answer import ABSTENTION, JUDGE_MIN

    turn = _turn("how long till the glotech headlamp is charged?")
    chat_turn_prepare(turn_id=turn.pk)
    n = next(s["n"] for s in ChatTurn.objects.get(pk=turn.pk).sources if "page 1" in s["title"])
    fake_model({"answer_from": [n], "sentences": [
        {"cite": n, "quote": "about 3 hours", "text": "A full charge takes about 3 hours."}]}, judged=JUDGE_MIN / 2)

    assert chat_turn_answer(turn_id=turn.pk)

    events = _events(turn.pk)
    assert "sentence" not in [e["type"] for e in events], "nothing is shown and then taken back"
    turn.refresh_from_db()
    assert turn.abstained and turn.answer == ABSTENTION and events[-1]["offer_human"]
    assert turn.answer_judged == pytest.approx(JUDGE_MIN / 2)


def test_without_a_prepare_the_worker_publishes_the_sources_itself(demo_knowledge, fake_model):
    turn = _turn("How long does the GloTech headlamp take to charge?")
    fake_model({"answer_from": [], "sentences": []})

    chat_turn_answer(turn_id=turn.pk)

    events = _events(turn.pk)
    assert [e["type"] for e in events] == ["sources", "instant", "done"]
    assert events[-1]["abstained"] and events[-1]["offer_human"]


def test_a_follow_up_is_searched_as_a_standalone_question_about_the_product_in_focus(demo_knowledge, fake_model):
    conversation = Conversation.objects.create(session_key="s")
    first = _turn("how long does the glotech headlamp last on high?", conversation, status=JobStatus.DONE,
                  answer="On High it runs about 2.5 hours [1].")
    follow_up = _turn("and how long does it take to charge?", conversation)

    context = chat_turn_context(turn=follow_up)
    sources, _ = chat_sources_for_turn(turn=follow_up, context=context)

    assert context.standalone.startswith("GloTech") and context.standalone.endswith("and how long does it take to charge?")
    assert context.history == [{"question": first.question, "answer": first.answer}]
    assert sources and all("GloTech" in s.source or s.kind == "policy" for s in sources)
    assert any("Charging" in s.text for s in sources)
    fake = fake_model({"answer_from": [], "sentences": []})
    chat_turn_answer(turn_id=follow_up.pk)
    assert "Customer: how long does the glotech headlamp last on high?" in fake.calls[0][1]["content"]


def test_a_follow_up_on_a_product_page_is_searched_with_the_earlier_question(demo_knowledge):
    from eshop.models import Product

    filter_id = Product.objects.get(external_id=16).pk
    conversation = Conversation.objects.create(session_key="s")
    _turn("how quickly does this thing filter?", conversation, product_id=filter_id, status=JobStatus.DONE,
          answer="With a full, clean cartridge, 4 liters take about 3 minutes [1].")
    follow_up = _turn("and if it hangs lower?", conversation, product_id=filter_id)

    context = chat_turn_context(turn=follow_up)
    sources, _ = chat_sources_for_turn(turn=follow_up, context=context)

    assert context.standalone == "how quickly does this thing filter? and if it hangs lower?"
    assert context.product_id == filter_id and any("faster the flow" in s.text for s in sources)


def test_a_long_follow_up_that_finds_nothing_alone_is_searched_with_the_earlier_question(demo_knowledge):
    from eshop.models import Product

    lamp_id = Product.objects.get(external_id=40).pk
    conversation = Conversation.objects.create(session_key="s")
    follow_up_text = "alright its clipped in now. is it meant to wobble a bit when i walk or sit totally still on there"
    alone = _turn(follow_up_text, product_id=lamp_id)
    assert chat_sources_for_turn(turn=alone) == ([], False)  # nothing near it alone
    _turn("how do i fix this lamp onto a bike helmet?", conversation, product_id=lamp_id, status=JobStatus.DONE,
          answer="Use the helmet clips [1].")
    follow_up = _turn(follow_up_text, conversation, product_id=lamp_id)

    sources, _ = chat_sources_for_turn(turn=follow_up)

    assert sources and all("GloTech" in s.source for s in sources)


def _done(turn_id):
    return next(e for e in _events(turn_id) if e["type"] == "done")


def test_an_anonymous_order_question_is_answered_from_the_policies_with_a_sign_in_offer(demo_knowledge, fake_model):
    turn = _turn("tracking on my parcel says delivered but there's nothing at my door. what now?")
    sources, needs_sign_in = chat_sources_for_turn(turn=turn)
    assert needs_sign_in and all(s.kind == "policy" for s in sources)
    n = next(s.n for s in sources if "Lost" in s.source)
    fake_model({"answer_from": [n], "sentences": [
        {"cite": n, "quote": "wait 48 hours, check around your home", "text": "Wait 48 hours and check with neighbors."}]})

    assert chat_turn_answer(turn_id=turn.pk)

    done = _done(turn.pk)
    assert done["sign_in"] and not done["abstained"] and done["answer"] == f"Wait 48 hours and check with neighbors [{n}]."


def test_an_anonymous_order_question_the_policies_do_not_answer_gets_the_sign_in_prompt(demo_knowledge, fake_model):
    turn = _turn("tracking on my parcel says delivered but there's nothing at my door. what now?")
    fake_model({"answer_from": [], "sentences": []})

    assert chat_turn_answer(turn_id=turn.pk)

    done = _done(turn.pk)
    assert done["sign_in"] and not done["abstained"] and done["answer"] == SIGN_IN_FOR_ORDERS
    turn.refresh_from_db()
    assert turn.status == JobStatus.DONE and turn.answer == SIGN_IN_FOR_ORDERS


def test_a_question_naming_another_product_leaves_the_previous_focus(demo_knowledge):
    conversation = Conversation.objects.create(session_key="s")
    _turn("how long does the glotech headlamp last on high?", conversation, status=JobStatus.DONE, answer="2.5 hours [1].")
    turn = _turn("how heavy is the ecovolt solarboost power bank?", conversation)

    context = chat_turn_context(turn=turn)

    assert context.standalone == turn.question and "Ecovolt" in context.product_name


def test_a_policy_follow_up_after_a_product_question_is_searched_without_the_product_name(demo_knowledge):
    conversation = Conversation.objects.create(session_key="s")
    _turn("how long does the glotech headlamp last on high?", conversation, status=JobStatus.DONE, answer="2.5 hours [1].")
    follow_up = _turn("and can i return it if i don't like it?", conversation)

    context = chat_turn_context(turn=follow_up)
    sources, _ = chat_sources_for_turn(turn=follow_up, context=context)

    assert context.standalone == follow_up.question and "GloTech" in context.product_name
    assert sources and all(s.kind == "policy" for s in sources) and "Returns Policy" in sources[0].source


def test_a_follow_up_to_a_return_of_a_product_is_searched_with_the_return_question(demo_knowledge):
    conversation = Conversation.objects.create(session_key="s")
    first = _turn("can i return the glotech headlamp if i only unpacked it?", conversation, status=JobStatus.DONE,
                  answer="Yes, within 30 days of delivery if it is unused [1].")
    # with the product's name in front, it found the headlamp's manual only
    follow_up = _turn("ok and how many days till i see the money?", conversation)

    context = chat_turn_context(turn=follow_up)
    sources, _ = chat_sources_for_turn(turn=follow_up, context=context)

    assert context.standalone == f"{first.question} {follow_up.question}"
    assert any(s.kind == "policy" and "Returns Policy" in s.source for s in sources)


def test_a_warranty_follow_up_keeps_the_product_in_front(demo_knowledge):
    conversation = Conversation.objects.create(session_key="s")
    _turn("how long does the glotech headlamp last on high?", conversation, status=JobStatus.DONE, answer="2.5 hours [1].")
    follow_up = _turn("is the battery covered by the warranty?", conversation)

    assert chat_turn_context(turn=follow_up).standalone.startswith("GloTech")


def test_the_agent_assistant_searches_a_complaint_as_a_troubleshooting_question():
    question = complaint_to_question("Hi there. This is unacceptable!! It blinks red and stopped charging after a week.",
                                     "GloTech Rechargeable LED Headlamp")

    assert question.startswith("GloTech Rechargeable LED Headlamp: troubleshooting: not charging, indicator LED blinking.")
    assert "unacceptable" not in question and "Hi there" not in question


def test_the_agent_turn_finds_the_charging_indicator(demo_knowledge):
    from eshop.models import Product

    headlamp = Product.objects.get(external_id=40)
    conversation = Conversation.objects.create(kind=ConversationKind.AGENT, user=AgentFactory())
    turn = _turn("Headlamp\n\nI am so disappointed. It blinks red and stopped charging, I want my money back.", conversation,
                 product=headlamp)

    sources, _ = chat_sources_for_turn(turn=turn)

    assert any("indicator" in s.text.lower() and s.page == 3 for s in sources[:2]), [s.source for s in sources]


@pytest.mark.django_db
def test_a_passage_found_further_down_takes_the_last_place_when_only_it_has_the_row_that_names_the_ask():
    def found(text):
        return SimpleNamespace(text=text, source="Tracker manual", kind="manual", document_title="Tracker manual")

    battery = found("| Interval | Typical battery life |\n|---|---|\n| 5 minutes | about 5 days |")
    storage = found("For storage longer than a month, charge to about 60% and switch off.")
    faults = found("| Problem | Solution |\n|---|---|\n| Does not charge, LED stays off | Use the supplied cable. |")
    data = found("| Item | Value |\n|---|---|\n| Charging | USB-C, about 2.5 hours from empty |")
    found_in_order = [battery, storage, faults, data]

    assert _with_the_named_row(found_in_order, limit=3, question="how long to charge it from empty?") == [battery, storage, data]
    assert _with_the_named_row(found_in_order, limit=3, question="how long does the battery last?") == [battery, storage, faults]
    assert _with_the_named_row(found_in_order[:3], limit=3, question="how long to charge it from empty?") == found_in_order[:3]
