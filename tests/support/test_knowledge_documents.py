"""Knowledge documents: upload validation, text extraction, idempotent indexing, staff API."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.jobs import JobStatus
from support.models import KnowledgeChunk, KnowledgeDocument
from support.services.knowledge import (
    UPLOAD_MAX_BYTES,
    KnowledgeDocumentError,
    document_index,
    document_text_extract,
    document_text_from_file,
    document_upload,
    knowledge_demo_ensure,
)
from support.tasks import embed_knowledge_document
from tests.factories import AgentFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db


def pdf_with_pages(*texts: str) -> bytes:
    """A minimal PDF with one line of real text per page (Helvetica), written by hand."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for text in texts:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode()}\nendstream")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                       f"/Contents {len(objects)} 0 R >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.4\n")
    for n, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{n} 0 obj\n{body}\nendobj\n".encode())
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def blank_pdf() -> bytes:
    from pypdf import PdfWriter

    writer, out = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=612, height=792)
    writer.write(out)
    return out.getvalue()


def test_pdf_text_is_extracted_page_by_page():
    text = document_text_extract(data=pdf_with_pages("Charge for 3 hours.", "Replace the O-ring yearly."), format="pdf")

    assert text == "<!-- page: 1 -->\nCharge for 3 hours.\n\n<!-- page: 2 -->\nReplace the O-ring yearly."


def test_a_pdf_without_text_gets_a_clear_message():
    with pytest.raises(KnowledgeDocumentError, match="no text layer"):
        document_text_extract(data=blank_pdf(), format="pdf")


def test_a_broken_pdf_gets_a_clear_message():
    with pytest.raises(KnowledgeDocumentError, match="could not be read"):
        document_text_extract(data=b"%PDF-1.4 nonsense", format="pdf")


def test_html_keeps_its_headings_and_loses_its_scripts():
    text = document_text_extract(data=b"<h2>Care</h2><p>Rinse &amp; dry.</p><script>alert(1)</script>", format="html")

    assert "## Care" in text and "Rinse & dry." in text and "alert" not in text


def test_upload_stores_the_file_and_queues_indexing_on_commit(django_capture_on_commit_callbacks, monkeypatch):
    queued = []
    monkeypatch.setattr(embed_knowledge_document, "delay", queued.append)
    product = ProductFactory()

    with django_capture_on_commit_callbacks(execute=True):
        document = document_upload(title="Lamp manual", kind="manual", product=product,
                                   uploaded_file=SimpleUploadedFile("lamp.pdf", pdf_with_pages("Hold 4 seconds to unlock.")))

    assert queued == [document.pk]
    assert document.status == JobStatus.PENDING and document.format == "pdf" and document.file.name.endswith(".pdf")
    assert document.body == ""  # read by the embed worker, not in the request
    assert document_text_from_file(document=document) is True
    assert "<!-- page: 1 -->" in KnowledgeDocument.objects.get().body


def test_an_unreadable_file_fails_its_document_with_the_reason_in_the_worker():
    for name, data, message in [("latin.txt", "café".encode("latin-1"), "not UTF-8"), ("empty.md", b"   \n", "no text"),
                                ("scan.pdf", blank_pdf(), "no text layer")]:
        document = document_upload(title=name, kind="policy", uploaded_file=SimpleUploadedFile(name, data))

        assert document_index(document_id=document.pk) is False
        document.refresh_from_db()
        assert document.status == JobStatus.FAILED and message in document.error


@pytest.mark.parametrize("name, data, kind, message", [
    ("virus.exe", b"MZ", "policy", "Unsupported file type"),
    ("notes", b"text", "policy", "Unsupported file type"),
    ("manual.md", b"# A manual", "manual", "needs its product"),
])
def test_bad_uploads_are_refused_with_a_reason_and_store_nothing(name, data, kind, message):
    upload = SimpleUploadedFile(name, blank_pdf() if data is None else data)

    with pytest.raises(KnowledgeDocumentError, match=message):
        document_upload(title="Doc", kind=kind, uploaded_file=upload)

    assert not KnowledgeDocument.objects.exists()


def test_an_oversized_upload_is_refused():
    upload = SimpleUploadedFile("big.txt", b"a" * (UPLOAD_MAX_BYTES + 1))

    with pytest.raises(KnowledgeDocumentError, match="limit is 10 MB"):
        document_upload(title="Big", kind="policy", uploaded_file=upload)


def test_indexing_is_idempotent_and_reuses_unchanged_chunk_vectors(monkeypatch):
    from llm.services import embed

    monkeypatch.setattr(embed_knowledge_document, "delay", lambda pk: None)
    document = KnowledgeDocument.objects.create(title="Returns", slug="returns", kind="policy",
                                                body="## Rule\n\nReturn within 30 days.\n\n## Cost\n\nA label costs $6.95.")
    embedded: list[str] = []
    real = embed.embed_texts
    monkeypatch.setattr(embed, "embed_texts", lambda *, texts, **kw: (embedded.extend(texts), real(texts=texts))[1])

    assert document_index(document_id=document.pk) is True
    assert document_index(document_id=document.pk) is False  # same content: nothing done

    document.refresh_from_db()
    assert (document.status, document.chunks_total, document.chunks_done) == (JobStatus.DONE, 2, 2)
    assert document.attempts == 1 and document.started_at <= document.finished_at  # the no-op run counts no attempt
    assert len(embedded) == 2
    chunk = KnowledgeChunk.objects.get(document=document, position=0)
    assert chunk.heading == "Rule" and chunk.embedding is not None and chunk.search_vector

    KnowledgeDocument.objects.filter(pk=document.pk).update(body=document.body.replace("$6.95", "$7.50"))
    assert document_index(document_id=document.pk) is True
    assert len(embedded) == 3  # only the changed chunk was embedded again
    assert KnowledgeChunk.objects.filter(document=document, text__contains="$7.50").count() == 1


def test_indexing_a_deleted_document_is_a_no_op():
    assert document_index(document_id=987654) is False


def test_demo_knowledge_loads_once(demo_catalog, monkeypatch):
    monkeypatch.setattr(embed_knowledge_document, "delay", lambda pk: None)

    first = knowledge_demo_ensure()
    second = knowledge_demo_ensure()

    assert first.created == 30 and not first.skipped
    assert (second.created, second.updated, second.unchanged) == (0, 0, 30)
    assert KnowledgeDocument.objects.filter(kind="manual", product__isnull=False).count() == 14


# --- staff API ----------------------------------------------------------------------------------

def test_agents_upload_and_list_documents_with_their_indexing_status(client, monkeypatch):
    monkeypatch.setattr(embed_knowledge_document, "delay", lambda pk: None)
    client.force_login(AgentFactory())

    created = client.post(reverse("knowledge-api-documents"), {
        "title": "Gift cards", "kind": "policy", "file": SimpleUploadedFile("gift.md", b"# Gift cards\n\nThey never expire.")})
    listed = client.get(reverse("knowledge-api-documents"))

    assert created.status_code == 201, created.content
    assert created.json()["index_status"] == "pending"
    assert [d["title"] for d in listed.json()["results"]] == ["Gift cards"]
    assert client.get(reverse("knowledge-api-document", args=[created.json()["id"]])).json()["chunks_total"] == 0


@pytest.mark.parametrize("name_it", [lambda p: p.slug, lambda p: str(p.pk)])
def test_staff_name_a_manuals_product_by_slug_or_id_and_filter_by_either(client, monkeypatch, name_it):
    monkeypatch.setattr(embed_knowledge_document, "delay", lambda pk: None)
    client.force_login(AgentFactory())
    lamp, other = ProductFactory(slug="glow-lamp"), ProductFactory(slug="trail-stove")

    created = client.post(reverse("knowledge-api-documents"), {
        "title": "Lamp manual", "kind": "manual", "product": name_it(lamp),
        "file": SimpleUploadedFile("lamp.md", b"# Lamp\n\nHold 4 seconds to unlock.")})
    by_slug = client.get(reverse("knowledge-api-documents"), {"product": "glow-lamp"}).json()["results"]
    by_id = client.get(reverse("knowledge-api-documents"), {"product": str(lamp.pk)}).json()["results"]
    of_other = client.get(reverse("knowledge-api-documents"), {"product": "trail-stove"}).json()["results"]

    assert created.status_code == 201, created.content
    assert (created.json()["product"], created.json()["product_slug"]) == (lamp.pk, "glow-lamp")
    assert [d["title"] for d in by_slug] == [d["title"] for d in by_id] == ["Lamp manual"]
    assert of_other == [] and other.pk != lamp.pk


def test_an_unknown_product_in_an_upload_or_a_filter_says_why(client):
    client.force_login(AgentFactory())

    upload = client.post(reverse("knowledge-api-documents"), {
        "title": "Lamp manual", "kind": "manual", "product": "no-such-lamp",
        "file": SimpleUploadedFile("lamp.md", b"# Lamp")})
    listing = client.get(reverse("knowledge-api-documents"), {"product": "no-such-lamp"})

    assert upload.status_code == 400 and "no-such-lamp" in upload.json()["product"][0]
    assert listing.status_code == 400 and "no-such-lamp" in listing.json()["product"][0]
    assert not KnowledgeDocument.objects.exists()


def test_a_bad_upload_through_the_api_says_why(client):
    client.force_login(AgentFactory())

    response = client.post(reverse("knowledge-api-documents"), {
        "title": "Tool", "kind": "policy", "file": SimpleUploadedFile("tool.exe", b"MZ")})

    assert response.status_code == 400 and "Unsupported file type" in response.json()["file"][0]


@pytest.mark.parametrize("make_user", [lambda: None, UserFactory])
def test_customers_cannot_list_or_upload_documents(client, make_user):
    user = make_user()
    if user:
        client.force_login(user)

    assert client.get(reverse("knowledge-api-documents")).status_code in (401, 403)
    assert client.post(reverse("knowledge-api-documents"), {"title": "x", "kind": "policy"}).status_code in (401, 403)


def test_the_article_page_renders_markdown_safely_with_page_anchors(client):
    KnowledgeDocument.objects.create(title="Lamp", slug="lamp", kind="policy",
                                     body="<!-- page: 2 -->\n## Care\n\n<script>alert(1)</script> Wipe **gently**.")

    page = client.get(reverse("support:kb-document", args=["lamp"])).content.decode()

    assert 'id="page-2"' in page and "<strong>gently</strong>" in page
    assert "<script>alert(1)</script>" not in page
    assert client.get(reverse("support:kb-document", args=["nope"])).status_code == 404


def test_the_help_center_lists_published_policies_and_manuals_by_title(client):
    KnowledgeDocument.objects.create(title="Returns", slug="returns", kind="policy", body="## Returns\n\nThirty days.")
    KnowledgeDocument.objects.create(title="Lamp manual", slug="lamp-manual", kind="manual", body="## Charging\n\nFour hours.")
    KnowledgeDocument.objects.create(title="Draft policy", slug="draft", kind="policy", body="Not yet.", is_published=False)
    KnowledgeDocument.objects.create(title="Exchanges", slug="exchanges", kind="policy", body="## Exchanges\n\nFree.")

    page = client.get(reverse("support:kb-index")).content.decode()
    policies, manuals = page.split('id="manuals-heading"')

    assert policies.index("Exchanges") < policies.index("Returns") and "Lamp manual" not in policies
    assert 'href="/support/help/lamp-manual/"' in manuals and "Returns" not in manuals
    assert "Draft policy" not in page


def test_the_index_command_indexes_pending_documents_in_process(capsys):
    from django.core.management import call_command

    KnowledgeDocument.objects.create(title="Care", slug="care", kind="policy", body="## Care\n\nWipe gently.")

    call_command("knowledge_index", "--now")

    assert KnowledgeDocument.objects.get().status == JobStatus.DONE
    assert "1/1 indexed: Care" in capsys.readouterr().out
