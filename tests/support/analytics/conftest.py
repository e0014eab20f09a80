import pytest
from django.contrib.auth.models import Permission

from tests.factories import UserFactory


@pytest.fixture
def superuser(db):
    return UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def staff_with(*codenames):
    user = UserFactory(is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="support", codename__in=codenames))
    return user


class FakeSQLWriter:
    """Stands in for the SLM in unit tests of the ask service; replies with canned text (or raises)."""

    def __init__(self, reply):
        self.reply = reply
        self.calls = []

    def stream(self, messages, **kwargs):
        self.calls.append({"messages": messages, **kwargs})
        if isinstance(self.reply, Exception):
            raise self.reply
        yield self.reply


@pytest.fixture
def fake_sql_writer(monkeypatch):
    def install(reply) -> FakeSQLWriter:
        fake = FakeSQLWriter(reply)
        monkeypatch.setattr("llm.engine.generator", lambda name=None: fake)
        return fake

    return install
