import pytest
from django.conf import settings
from django.urls import reverse

from eshop.models import User
from eshop.services.accounts import DEMO_LOGINS, demo_users_ensure
from tests.factories import AgentFactory, UserFactory

pytestmark = pytest.mark.django_db


def _signup(client, **overrides):
    data = {"email": "new@example.com", "first_name": "Lee", "last_name": "Hart",
            "password1": "granite-trail-42", "password2": "granite-trail-42", **overrides}
    return client.post(reverse("signup"), data)


def test_signup_creates_a_customer_and_signs_in(client):
    response = _signup(client)

    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert not user.is_staff and not user.is_support_agent
    assert client.get(reverse("home")).context["user"] == user


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"email": ""}, "email", "This field is required."),
        ({"password2": "different-pass-1"}, "password2", "The two passwords do not match."),
        ({"password1": "123", "password2": "123"}, "password1", "This password is too short."),
    ],
)
def test_signup_rejects_bad_input_with_a_message(client, overrides, field, message):
    response = _signup(client, **overrides)

    assert response.status_code == 400
    assert any(message in error for error in response.context["form"].errors[field])
    assert User.objects.count() == 0


def test_signup_with_an_existing_email_in_other_case_is_refused(client):
    UserFactory(email="taken@example.com")

    response = _signup(client, email="TAKEN@example.com")

    assert response.status_code == 400
    assert "already exists" in str(response.context["form"].errors["email"])


def test_signup_escapes_html_in_names(client):
    _signup(client, first_name="<script>alert(1)</script>")

    page = client.get(reverse("home")).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_login_and_logout(client):
    UserFactory(email="walker@example.com")

    response = client.post(reverse("login"), {"username": "walker@example.com", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert "_auth_user_id" in client.session

    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_login_with_a_wrong_password_says_so(client):
    UserFactory(email="walker@example.com")

    response = client.post(reverse("login"), {"username": "walker@example.com", "password": "nope"})

    assert response.status_code == 200
    assert "Please enter a correct e-mail address and password" in response.content.decode()


def test_login_is_rate_limited_per_address_and_account(client):
    UserFactory(email="walker@example.com")
    for _ in range(settings.LOGIN_RATE_LIMIT):
        client.post(reverse("login"), {"username": "walker@example.com", "password": "guess"})

    response = client.post(reverse("login"), {"username": "walker@example.com", "password": "correct-horse-battery"})

    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_needs_csrf(client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    UserFactory(email="walker@example.com")

    response = strict.post(reverse("login"), {"username": "walker@example.com", "password": "correct-horse-battery"})

    assert response.status_code == 403


def test_agents_are_staff_in_the_support_agents_group():
    agent = AgentFactory()
    staff_outside_group = UserFactory(is_staff=True)

    assert agent.is_support_agent
    assert not staff_outside_group.is_support_agent


def test_demo_users_are_created_once_with_the_right_roles():
    demo_users_ensure()
    demo_users_ensure()

    assert User.objects.count() == len(DEMO_LOGINS)
    customer, agent, admin = (User.objects.get(email=login.email) for login in DEMO_LOGINS)
    assert not customer.is_staff
    assert agent.is_support_agent and not agent.is_superuser
    assert admin.is_superuser
    assert customer.check_password("trailhead-customer")


def test_admin_login_page_is_served(client):
    assert client.get("/admin/login/").status_code == 200


def test_customer_cannot_enter_admin(client):
    client.force_login(UserFactory())

    response = client.get("/admin/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_sign_in_page_names_the_shop_not_the_host(client):
    html = client.get(reverse("login"), HTTP_HOST="127.0.0.1:8000").content.decode()

    assert f'class="brand" href="/">{settings.SITE_NAME}</a>' in html
    assert "127.0.0.1:8000" not in html
