"""Medium 4: sign-in abuse. On today's main /admin/login/ had no limit at all, and the shop's
per-e-mail limit let anyone lock a known account out by failing from elsewhere. Now both logins
count attempts per client IP + account, and per client IP."""

import pytest
from django.urls import reverse

from tests.factories import AgentFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"  # tests/factories.py


def _login(client, url, email, password, ip):
    return client.post(url, {"username": email, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_failing_from_elsewhere_does_not_lock_the_owner_out(client, settings, url_name):
    user = AgentFactory(email="walker@example.com", is_superuser=True)
    url = reverse(url_name)
    for _ in range(settings.LOGIN_RATE_LIMIT + 2):
        _login(client, url, user.email, "guess", "198.51.100.66")

    response = _login(client, url, user.email, PASSWORD, "203.0.113.10")

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_guessing_one_accounts_password_from_one_address_is_stopped(client, settings, url_name):
    user = AgentFactory(email="walker@example.com", is_superuser=True)
    url = reverse(url_name)
    for _ in range(settings.LOGIN_RATE_LIMIT):
        assert _login(client, url, user.email, "guess", "198.51.100.66").status_code == 200

    response = _login(client, url, user.email, PASSWORD, "198.51.100.66")  # even the right password now

    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_trying_many_accounts_from_one_address_is_stopped(client, settings, url_name):
    settings.LOGIN_RATE_LIMIT_PER_IP = 5
    url = reverse(url_name)
    statuses = [_login(client, url, f"user{n}@example.com", "guess", "198.51.100.66").status_code for n in range(6)]

    assert statuses[:5] == [200] * 5 and statuses[5] == 429


def test_the_admin_login_still_refuses_customers_and_signs_staff_in(client):
    customer = UserFactory(email="customer@example.com")
    agent = AgentFactory(email="agent@example.com")

    refused = _login(client, reverse("admin:login"), customer.email, PASSWORD, "203.0.113.10")
    assert refused.status_code == 200 and "_auth_user_id" not in client.session

    signed_in = _login(client, reverse("admin:login"), agent.email, PASSWORD, "203.0.113.11")
    assert signed_in.status_code == 302 and signed_in.url == reverse("admin:index")


def test_the_admin_login_needs_csrf():
    from django.test import Client

    AgentFactory(email="agent@example.com")
    response = Client(enforce_csrf_checks=True).post(reverse("admin:login"), {"username": "agent@example.com", "password": PASSWORD})

    assert response.status_code == 403
