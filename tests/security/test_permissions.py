"""Attack suite, permissions (issue 13, Medium 3): support agents are staff, and staff alone must not
change the catalog nor publish to the help center. One module (core/permissions.py) decides for pages
and APIs alike."""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from eshop.models import Product, User
from support.models import KnowledgeDocument
from tests.factories import CategoryFactory, ProductFactory, UserFactory
from tests.security.fixtures import agent, agent_client, quiet_queue, shop_admin  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def test_an_agent_cannot_change_a_price_or_add_products_or_categories(agent_client):
    product = ProductFactory(price="49.99")
    category = CategoryFactory()

    changed = agent_client.patch(reverse("api-product-update", args=[product.slug]), {"price": "0.01"}, content_type="application/json")
    added = agent_client.post(reverse("api-product-create"), {"category": category.slug, "brand": "X", "model": "Y",
                                                              "description": "d", "price": "1.00"}, content_type="application/json")
    new_category = agent_client.post(reverse("api-category-create"), {"name": "Free stuff"}, content_type="application/json")

    assert (changed.status_code, added.status_code, new_category.status_code) == (403, 403, 403)
    assert str(Product.objects.get(pk=product.pk).price) == "49.99" and Product.objects.count() == 1


def test_plain_staff_cannot_either_but_a_catalog_manager_with_the_model_permission_can(client):
    product = ProductFactory(price="49.99")
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    url = reverse("api-product-update", args=[product.slug])
    assert client.patch(url, {"price": "1.00"}, content_type="application/json").status_code == 403

    staff.user_permissions.add(Permission.objects.get(content_type__app_label="eshop", codename="change_product"))
    client.force_login(User.objects.get(pk=staff.pk))  # a fresh user: permissions are cached per object

    assert client.patch(url, {"price": "39.99"}, content_type="application/json").status_code == 200
    assert str(Product.objects.get(pk=product.pk).price) == "39.99"


def test_an_admin_may_change_the_catalog(client, shop_admin):
    product = ProductFactory(price="49.99")
    client.force_login(shop_admin)

    assert client.patch(reverse("api-product-update", args=[product.slug]), {"price": "45.00"},
                        content_type="application/json").status_code == 200


def test_an_agents_upload_starts_unpublished_and_stays_off_the_help_center(agent_client, quiet_queue):
    response = agent_client.post(reverse("knowledge-api-documents"), {
        "title": "Refunds are instant", "kind": "policy", "file": SimpleUploadedFile("r.md", b"# Refunds\n\nAlways.")})

    assert response.status_code == 201 and response.json()["is_published"] is False
    assert KnowledgeDocument.objects.get().is_published is False
    assert agent_client.get(reverse("support:kb-document", args=[response.json()["slug"]])).status_code == 404


def test_an_admins_upload_is_published(client, shop_admin, quiet_queue):
    client.force_login(shop_admin)

    response = client.post(reverse("knowledge-api-documents"), {
        "title": "Gift cards", "kind": "policy", "file": SimpleUploadedFile("g.md", b"# Gift cards\n\nNo expiry.")})

    assert response.status_code == 201 and response.json()["is_published"] is True


def test_staff_who_are_not_agents_cannot_use_the_knowledge_api_or_the_agent_assistant(client):
    from tests.support.factories import TicketFactory

    ticket = TicketFactory()
    client.force_login(UserFactory(is_staff=True))

    assert client.get(reverse("knowledge-api-documents")).status_code == 403
    assert client.post(reverse("agent-api-assistant", args=[ticket.number]), {"action": "draft"}).status_code == 403


def test_pages_and_apis_share_one_permissions_module():
    """The five shapes the review found (IsAdminUser, IsStaff, inline staff checks, ...) are gone."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sources = {p: p.read_text() for folder in ("eshop", "support", "core") for p in (root / folder).rglob("*.py")}
    for path, text in sources.items():
        assert "IsAdminUser" not in text and "class IsStaff" not in text, path
        if path.name != "permissions.py" and "migrations" not in path.parts:
            assert "(BasePermission)" not in text or path.name == "apis_chat.py", path  # CsrfAlways is not an access rule
            assert ".is_staff)" not in text and "is_superuser)" not in text, path
