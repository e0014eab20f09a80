"""Calibrating the SLM's category and attitude readings on the desk's labelled tickets (the demo tickets' labels,
agents' corrections): the run in steps on the llm worker, the command, and the admin button. A fake SLM stands in
for the readings (unit tests of the run); the fitting itself is tested in tests/llm/test_calibration.py."""

import json
import math
from unittest import mock

import pytest
from django.core.management import call_command

from llm.labels import SENTIMENT_LEVELS
from llm.models import ClassifierHead, LabelCalibration
from support.services.classifier_heads import calibration_run_step
from support.services.demo_tickets import DEMO_TICKETS_FILE
from tests.factories import UserFactory
from tests.llm.conftest import FakeGenerator

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_run_going_on():
    """The run lock lives in the cache (Redis), which outlives a test's database."""
    from django.core.cache import cache

    from support.services.classifier_heads import CALIBRATION_RUN_LOCK

    cache.delete(CALIBRATION_RUN_LOCK)
    yield
    cache.delete(CALIBRATION_RUN_LOCK)
CHANGELIST = "/admin/llm/labelcalibration/"
RECALIBRATE = "/admin/llm/labelcalibration/recalibrate/"
DEMO = json.loads(DEMO_TICKETS_FILE.read_text())


class LeaningSLM(FakeGenerator):
    """Reads each demo ticket's true category and attitude level, with a constant lean on top: "feedback" and the
    first attitude option get e^2.5 times their odds, so the lean wins where the truth is another label, as a small
    model's lean does. A constant lean is what calibration can take off."""

    def __init__(self):
        super().__init__()
        self.truth = {}
        for ticket in DEMO:
            first_line = next(m["body"] for m in ticket["messages"] if m["author"] == "customer").split("\n")[0]
            self.truth[first_line[:40]] = ticket["labels"]

    def _shares(self, messages, options):
        labels = next((v for k, v in self.truth.items() if k in messages[-1]["content"]), None)
        is_category = "feedback" in options
        lean = "feedback" if is_category else options[0]
        wanted = None
        if labels:
            level = labels["sentiment"]
            wanted = labels["category"] if is_category else next(
                o for o in (level, level.replace("_", " "), options[SENTIMENT_LEVELS.index(level)]) if o in options)
        weights = [math.exp(2.0 * (o == wanted) + 2.5 * (o == lean)) for o in options]
        return [w / sum(weights) for w in weights]


def _leaning_slm(monkeypatch) -> LeaningSLM:
    fake = LeaningSLM()
    monkeypatch.setattr("llm.engine.generator", lambda name=None: fake)
    return fake


def test_a_run_reads_the_labelled_tickets_in_steps_then_stores_both_calibrations(monkeypatch):
    _leaning_slm(monkeypatch)

    step = calibration_run_step(step_tickets=50)
    steps = [step]
    while not step["done"]:
        step = calibration_run_step(run_id=step["run_id"], step_tickets=50)
        steps.append(step)

    assert [s["read"] for s in steps] == [50, 100, 138]  # 69 demo tickets, read once per task
    category = LabelCalibration.objects.get(task="category")
    assert category.train_size == 69 and category.accuracy_after > category.accuracy_before
    offsets = dict(zip(category.labels, category.offsets, strict=True))
    assert offsets["feedback"] == min(offsets.values())  # the lean is taken off
    assert LabelCalibration.objects.filter(task="sentiment").count() == 1
    assert {r["task"] for r in steps[-1]["results"]} == {"category", "sentiment"}


def test_a_run_whose_state_expired_says_so_and_stores_nothing(monkeypatch):
    fake = _leaning_slm(monkeypatch)

    step = calibration_run_step(run_id="gone")

    assert step["done"] and "expired" in step["results"][0]["error"]
    assert not fake.calls and not LabelCalibration.objects.exists()


def test_too_few_labelled_tickets_are_reported_before_the_model_reads_any(monkeypatch):
    fake = _leaning_slm(monkeypatch)
    monkeypatch.setattr("support.services.classifier_heads.MIN_EXAMPLES", 1000)

    step = calibration_run_step()

    assert step["done"] and {r["task"] for r in step["results"]} == {"category", "sentiment"}
    assert all("at least 1000" in r["error"] for r in step["results"])
    assert not fake.calls and not LabelCalibration.objects.exists()


def test_the_command_calibrates_after_the_heads_and_says_whether_it_helps(monkeypatch, capsys):
    _leaning_slm(monkeypatch)

    call_command("train_classifiers", "--task", "category")

    out = capsys.readouterr().out
    assert "category v1: holdout accuracy" in out
    assert "category calibration v1: accuracy on held-out folds" in out and "used" in out
    assert not LabelCalibration.objects.filter(task="sentiment").exists()


# --- admin ----------------------------------------------------------------------------------------

@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admins_see_the_calibrations_and_can_queue_a_recalibration(admin_client):
    LabelCalibration.objects.create(task="category", version=3, model="qwen", fingerprint="f", labels=["a", "b"],
                                    offsets=[0.5, -0.5], train_size=69, accuracy_before=0.6, accuracy_after=0.7)
    html = admin_client.get(CHANGELIST).content.decode()
    assert "Recalibrate" in html and "0.7" in html

    with mock.patch("support.tasks.llm_label_calibrations_refit.delay") as delay:
        response = admin_client.post(RECALIBRATE, follow=True)

    delay.assert_called_once_with()
    assert "Recalibration queued" in response.content.decode()

    with mock.patch("support.tasks.llm_label_calibrations_refit.delay") as delay:  # the first run is still going on
        response = admin_client.post(RECALIBRATE, follow=True)
    delay.assert_not_called()
    assert "already running" in response.content.decode()


def test_staff_without_the_permission_cannot_recalibrate(client):
    from django.contrib.auth.models import Permission

    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_labelcalibration"))
    client.force_login(staff)

    assert "Recalibrate" not in client.get(CHANGELIST).content.decode()
    with mock.patch("support.tasks.llm_label_calibrations_refit.delay") as delay:
        assert client.post(RECALIBRATE).status_code == 403
    delay.assert_not_called()


def test_recalibrate_is_post_only_and_a_broker_that_is_down_is_reported(admin_client):
    assert admin_client.get(RECALIBRATE).status_code == 405
    with mock.patch("support.tasks.llm_label_calibrations_refit.delay", side_effect=ConnectionError("redis down")):
        response = admin_client.post(RECALIBRATE, follow=True)

    assert "Recalibration could not be queued" in response.content.decode()


def test_the_task_sends_its_next_step_until_the_run_is_done(monkeypatch):
    from support import tasks

    steps = iter([{"run_id": "r1", "done": False}, {"run_id": "r1", "done": True}])
    monkeypatch.setattr(tasks, "calibration_run_step", lambda run_id=None: next(steps))
    with mock.patch.object(tasks.llm_label_calibrations_refit, "delay") as delay:
        tasks.llm_label_calibrations_refit()
        delay.assert_called_once_with("r1")
        tasks.llm_label_calibrations_refit("r1")
        delay.assert_called_once_with("r1")  # the last step sends nothing


# --- beat refits when the prompt, the model or the labels changed ---------------------------------

def _current(task: str, *, hours_old: float = 0) -> LabelCalibration:
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from llm.services.triage import category_fingerprint, sentiment_fingerprint
    from support.selectors import ticket_category_options

    categories = ticket_category_options()
    fingerprint, labels = ((category_fingerprint(categories), [c.slug for c in categories]) if task == "category"
                           else (sentiment_fingerprint(categories), SENTIMENT_LEVELS))
    calibration = LabelCalibration.objects.create(task=task, version=1, model=settings.LLM_MODEL, fingerprint=fingerprint,
                                                  labels=labels, offsets=[0.0] * len(labels), train_size=69,
                                                  accuracy_before=0.6, accuracy_after=0.5)
    LabelCalibration.objects.filter(pk=calibration.pk).update(created_at=timezone.now() - timedelta(hours=hours_old))
    return calibration


def test_a_calibration_is_due_until_one_matches_the_current_prompt_and_model(ticket_categories, settings):
    from support.models import TicketCategory
    from support.services.classifier_heads import calibration_refresh_due

    assert calibration_refresh_due() == ["category", "sentiment"]
    _current("category"), _current("sentiment")  # one that did not beat the raw model counts too: it was tried
    assert calibration_refresh_due() == []

    TicketCategory.objects.filter(slug="feedback").update(description="Praise and ideas.")  # another prompt
    assert calibration_refresh_due() == ["category", "sentiment"]
    settings.LLM_MODEL = "another-model"
    assert calibration_refresh_due() == ["category", "sentiment"]


def test_new_labels_make_a_calibration_due_once_the_last_is_a_day_old(ticket_categories, customer, agent, no_enqueue):
    from support.models import TicketCorrection
    from support.services.classifier_heads import calibration_refresh_due
    from support.services.tickets import ticket_create

    _current("category", hours_old=30), _current("sentiment", hours_old=30)
    assert calibration_refresh_due() == []
    ticket = ticket_create(customer=customer, body="The zip broke on day two")
    TicketCorrection.objects.create(ticket=ticket, field="category", from_value="feedback", to_value="defect-warranty",
                                    corrected_by=agent)
    assert calibration_refresh_due() == ["category"]

    LabelCalibration.objects.filter(task="category").update(created_at=ticket.created_at)  # refitted just now
    TicketCorrection.objects.filter(ticket=ticket).update(created_at=ticket.created_at)
    assert calibration_refresh_due() == []


def test_history_imported_since_the_last_calibration_makes_one_due_however_old_its_tickets(ticket_categories,
                                                                                           no_enqueue, tmp_path):
    from support.services.classifier_heads import calibration_refresh_due
    from support.services.demo_tickets import demo_history_ensure

    _current("category", hours_old=30), _current("sentiment", hours_old=30)
    path = tmp_path / "history.json"
    path.write_text(json.dumps([{"ref": "H1", "text": "Where is my parcel?", "category": "order-status",
                                 "sentiment": "neutral"}]))
    demo_history_ensure(path=path)  # dated weeks before the calibration
    assert calibration_refresh_due() == ["category", "sentiment"]


def test_beat_starts_one_run_at_a_time_and_a_broker_that_is_down_leaves_no_lock(ticket_categories):
    from django.core.cache import cache

    from support.services.classifier_heads import CALIBRATION_RUN_LOCK, calibration_refresh_start

    with mock.patch("support.tasks.llm_label_calibrations_refit.delay", side_effect=ConnectionError("redis down")):
        with pytest.raises(ConnectionError):
            calibration_refresh_start()
    assert cache.get(CALIBRATION_RUN_LOCK) is None

    with mock.patch("support.tasks.llm_label_calibrations_refit.delay") as delay:
        assert calibration_refresh_start() is True
        assert calibration_refresh_start() is False  # a run is going on
    delay.assert_called_once_with()
    assert set(ClassifierHead.objects.values_list("task", flat=True)) == {"category", "sentiment"}  # for the run to weigh


def test_a_run_stops_when_the_categories_change_between_its_steps(monkeypatch, ticket_categories):
    from support.models import TicketCategory

    _leaning_slm(monkeypatch)
    step = calibration_run_step(step_tickets=10)
    TicketCategory.objects.filter(slug="feedback").update(is_active=False)

    step = calibration_run_step(run_id=step["run_id"], step_tickets=10)

    assert step["done"] and "categories changed" in step["results"][0]["error"]
    assert not LabelCalibration.objects.exists()


def test_with_a_trained_head_the_run_weighs_its_cross_fitted_readings(monkeypatch):
    from llm.services.heads import classifier_head_train
    from support.selectors import ticket_training_examples
    from support.services import classifier_heads as service

    _leaning_slm(monkeypatch)
    classifier_head_train(task="category", examples=ticket_training_examples(task="category"))
    seen = []
    real = service.head_cross_fitted

    def spy(**kwargs):
        seen.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(service, "head_cross_fitted", spy)
    step = calibration_run_step(step_tickets=200)

    assert [len(call["texts"]) for call in seen] == [69]  # the category's head only: no sentiment head was trained
    result = next(r for r in step["results"] if r["task"] == "category")
    assert result["head_weight"] in (0.0, 0.25, 0.5, 0.75, 1.0)
    assert LabelCalibration.objects.get(task="category").head_weight == result["head_weight"]


def test_labelled_texts_triage_would_refuse_are_left_out_and_html_is_read_as_text(monkeypatch):
    from llm.services.common import MAX_INPUT_CHARS
    from support.selectors import ticket_training_examples

    fake = _leaning_slm(monkeypatch)
    bad = [("", "feedback"), ("x" * (MAX_INPUT_CHARS + 1), "feedback"), ("\x00\x01", "account")]
    html = ("<script>alert(1)</script><b>Where is my order?</b>", "order-status")
    monkeypatch.setattr("support.services.classifier_heads.ticket_training_examples",
                        lambda task: [*ticket_training_examples(task=task), *bad, html])

    step = calibration_run_step(step_tickets=500)

    category = next(r for r in step["results"] if r["task"] == "category")
    assert category["train_size"] == 70  # the 69 demo tickets and the HTML one; the empty, huge and control-only are not
    # the HTML ticket was read as the customer's own words, inside the thread block, not as markup that ends it
    read = [c["messages"][-1]["content"] for c in fake.calls if "alert(1)" in c["messages"][-1]["content"]]
    assert read and all(turn.index("alert(1)") < turn.index("</thread>") for turn in read)
