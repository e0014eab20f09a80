"""Low: sessions. On today's main every token-authenticated (cookieless) question wrote a new
session row, and nothing deleted expired sessions."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from core.tasks import sessions_clear_expired
from support.models import ChatTurn
from support.tasks import llm_answer_chat_turn
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_cookieless_api_questions_create_no_session_rows(monkeypatch):
    monkeypatch.setattr(llm_answer_chat_turn, "delay", lambda pk: None)
    token = Token.objects.create(user=UserFactory())
    api = Client(HTTP_AUTHORIZATION=f"Token {token.key}")

    for n in range(3):
        response = api.post(reverse("chat-api-ask"), {"question": f"Question {n} about tents"}, content_type="application/json")
        assert response.status_code == 202, response.content
        api.cookies.clear()  # a script that keeps no cookies

    assert ChatTurn.objects.count() == 3
    assert Session.objects.count() == 0


def test_an_anonymous_visitor_keeps_one_session_for_several_questions(client, monkeypatch):
    monkeypatch.setattr(llm_answer_chat_turn, "delay", lambda pk: None)

    for n in range(3):
        assert client.post(reverse("chat-api-ask"), {"question": f"Question {n}"}, content_type="application/json").status_code == 202

    assert Session.objects.count() == 1


def test_expired_sessions_are_deleted_on_a_schedule():
    Session.objects.create(session_key="old" * 10, session_data="x", expire_date=timezone.now() - timedelta(days=1))
    Session.objects.create(session_key="new" * 10, session_data="x", expire_date=timezone.now() + timedelta(days=1))
    schedule = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()]

    sessions_clear_expired()

    assert "core.tasks.sessions_clear_expired" in schedule
    assert list(Session.objects.values_list("session_key", flat=True)) == ["new" * 10]
