"""Attack suite, uploads (issue 13, Medium 5): nothing is parsed in the web request, HTML goes through
a real (linear-time) parser, and every parser error is a message on the document, never a 500."""

import io
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.jobs import JobStatus
from support.models import KnowledgeDocument
from support.services.knowledge import KnowledgeDocumentError, document_index, document_text_extract
from tests.security.fixtures import agent, agent_client, quiet_queue  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db

SCRIPT_FLOOD = b"<script " * (10 * 1024 * 1024 // 8)  # 10 MB: the regex cleaner took 7 s for 64 KB, hours for this


def zip_bomb_pdf(megabytes: int = 80) -> bytes:
    """A 78 KB PDF whose page content inflates to 80 MB: pypdf stops it with LimitReachedError."""
    stream = zlib.compress(b"BT /F1 12 Tf 72 720 Td (x) Tj ET\n" + b" " * (megabytes * 1_000_000), 9)
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream"]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for n, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % n + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def test_ten_megabytes_of_unclosed_script_tags_are_read_within_the_time_limit():
    with pytest.raises(KnowledgeDocumentError) as info:
        document_text_extract(data=SCRIPT_FLOOD, format="html", seconds=120)

    assert "The file has no text." in info.value.messages  # parsed to nothing, not stopped by the time limit


def test_html_keeps_its_text_and_headings_and_drops_scripts_styles_and_attributes():
    markup = (b"<html><head><title>T</title><style>p{}</style></head><body><h2 onclick=x>Care &amp; use</h2>"
              b"<p>Rinse<br>dry.</p><script>alert(1)</script><div>Done</div></body></html>")

    text = document_text_extract(data=markup, format="html")

    assert "## Care & use" in text and "Rinse" in text and "dry." in text and "Done" in text
    assert "alert" not in text and "onclick" not in text and "p{}" not in text


def test_reading_a_file_is_stopped_at_its_time_limit_with_a_message():
    with pytest.raises(KnowledgeDocumentError, match="took longer than 0.01 s"):
        document_text_extract(data=b"<p>words</p>" * 1_000_000, format="html", seconds=0.01)


def test_the_upload_request_stores_the_file_without_parsing_it(agent_client, quiet_queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(reverse("knowledge-api-documents"), {
            "title": "Flood", "kind": "policy", "file": SimpleUploadedFile("flood.html", SCRIPT_FLOOD)})

    assert response.status_code == 201, response.content
    document = KnowledgeDocument.objects.get()
    assert document.body == "" and document.status == JobStatus.PENDING
    assert quiet_queue == [("support.tasks.embed_knowledge_document", (document.pk,))]


def test_a_pdf_that_hits_a_parser_limit_is_a_message_on_the_document_not_a_500(agent_client, quiet_queue):
    response = agent_client.post(reverse("knowledge-api-documents"), {
        "title": "Bomb", "kind": "policy", "file": SimpleUploadedFile("bomb.pdf", zip_bomb_pdf())})
    assert response.status_code == 201, response.content

    assert document_index(document_id=response.json()["id"]) is False  # what the embed worker runs

    document = KnowledgeDocument.objects.get()
    assert document.status == JobStatus.FAILED
    assert document.error.startswith("The PDF could not be read (LimitReachedError")
    status = agent_client.get(reverse("knowledge-api-document", args=[document.pk])).json()
    assert status["index_status"] == "failed" and "LimitReachedError" in status["index_error"]


def test_a_stored_file_that_is_gone_fails_its_document_with_a_reason(agent_client, quiet_queue):
    response = agent_client.post(reverse("knowledge-api-documents"), {
        "title": "Gone", "kind": "policy", "file": SimpleUploadedFile("gone.md", b"# Gone\n\nSoon.")})
    document = KnowledgeDocument.objects.get(pk=response.json()["id"])
    document.file.storage.delete(document.file.name)

    assert document_index(document_id=document.pk) is False

    document.refresh_from_db()
    assert document.status == JobStatus.FAILED and "could not be read (FileNotFoundError" in document.error
