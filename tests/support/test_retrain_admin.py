"""The "Retrain classifiers" button on the classifier heads' admin list: a task on the default queue."""

from unittest import mock

import pytest
from django.urls import reverse

from llm.models import ClassifierHead
from tests.factories import UserFactory
from tests.helpers import wait_for

CHANGELIST = "/admin/llm/classifierhead/"
RETRAIN = "/admin/llm/classifierhead/retrain/"


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_the_button_is_on_the_list_for_admins(admin_client):
    assert "Retrain classifiers" in admin_client.get(CHANGELIST).content.decode()


@pytest.mark.django_db
def test_staff_without_the_permission_cannot_retrain(client):
    staff = UserFactory(is_staff=True)
    from django.contrib.auth.models import Permission

    staff.user_permissions.add(Permission.objects.get(codename="view_classifierhead"))
    client.force_login(staff)

    assert "Retrain classifiers" not in client.get(CHANGELIST).content.decode()
    with mock.patch("support.tasks.classifiers_retrain_task.delay") as delay:
        assert client.post(RETRAIN).status_code == 403
    delay.assert_not_called()


def test_retrain_is_post_only(admin_client):
    assert admin_client.get(RETRAIN).status_code == 405


def test_a_broker_that_is_down_is_reported(admin_client):
    with mock.patch("support.tasks.classifiers_retrain_task.delay", side_effect=ConnectionError("redis down")):
        response = admin_client.post(RETRAIN, follow=True)

    assert "Retraining could not be queued" in response.content.decode()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_retraining_runs_on_the_worker_and_its_result_shows_on_the_list(client, celery_worker_process):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    response = client.post(RETRAIN, follow=True)
    assert "Retraining queued" in response.content.decode()

    wait_for(lambda: ClassifierHead.objects.filter(task="sentiment").exists(), timeout=180)
    wait_for(lambda: "Last retraining:</strong>\n    done" in client.get(CHANGELIST).content.decode(), timeout=30)
    html = client.get(CHANGELIST).content.decode()
    assert "category v1 (holdout accuracy" in html and "sentiment v1" in html
    assert reverse("admin:llm_classifierhead_retrain") in html
