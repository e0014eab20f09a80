"""Attack suite, originals of uploaded documents (issue 13, Medium 7): served by a view, as a download,
never as a page of the shop (an uploaded .html would be stored XSS), and unpublished ones only to agents."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from support.services.knowledge import document_upload
from tests.security.fixtures import agent, customer, quiet_queue  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

EVIL = b"<h1>Care</h1><script>fetch('/api/orders/').then(r => r.text()).then(steal)</script>"


@pytest.fixture
def html_upload(quiet_queue):
    def upload(*, publish: bool):
        return document_upload(title="Care guide", kind="policy", publish=publish,
                               uploaded_file=SimpleUploadedFile("care.html", EVIL, content_type="text/html"))
    return upload


def test_a_published_original_is_an_attachment_that_never_renders(client, html_upload):
    document = html_upload(publish=True)

    response = client.get(reverse("support:kb-document-original", args=[document.slug]))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;") and 'filename="care-guide.html"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/octet-stream" and "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == EVIL


def test_the_article_page_links_the_view_not_media(client, html_upload, settings):
    document = html_upload(publish=True)
    type(document).objects.filter(pk=document.pk).update(body="# Care\n\nRinse.")

    page = client.get(reverse("support:kb-document", args=[document.slug])).content.decode()

    assert reverse("support:kb-document-original", args=[document.slug]) in page
    assert settings.MEDIA_URL not in page


def test_an_unpublished_original_is_404_for_visitors_and_customers_and_served_to_agents(client, html_upload, customer, agent):
    document = html_upload(publish=False)
    url = reverse("support:kb-document-original", args=[document.slug])

    assert client.get(url).status_code == 404
    client.force_login(customer)
    assert client.get(url).status_code == 404
    client.force_login(agent)
    assert client.get(url).status_code == 200


def test_a_document_without_a_file_or_slug_is_404(client):
    assert client.get(reverse("support:kb-document-original", args=["nothing-here"])).status_code == 404
