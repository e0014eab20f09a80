"""The knowledge base: documents in (uploads, demo articles), chunks and their vectors out.

Indexing runs on the `embed` queue (support.tasks.embed_knowledge_document), is idempotent by
content hash, and swaps a document's chunks in one transaction so search never sees half an index.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.db import transaction
from django.db.models import F, Value
from django.utils import timezone
from django.utils.text import slugify

from core.jobs import JobStatus, enqueue_on_commit, resend_stale
from support.models import KnowledgeChunk, KnowledgeDocument
from support.models.knowledge import DocumentFormat, DocumentKind
from support.services.knowledge_text import EXTRACT_SECONDS, KnowledgeDocumentError, document_text_extract

__all__ = ["KnowledgeDocumentError", "document_text_extract"]  # part of this module's interface, kept in knowledge_text

UPLOAD_MAX_BYTES = 10 * 1024 * 1024
UPLOAD_FORMATS = {".pdf": DocumentFormat.PDF, ".md": DocumentFormat.MARKDOWN, ".markdown": DocumentFormat.MARKDOWN,
                  ".html": DocumentFormat.HTML, ".htm": DocumentFormat.HTML, ".txt": DocumentFormat.TEXT}
# MiniLM reads 256 word pieces: a chunk of at most 180 (+30 of overlap) leaves room for the title and heading.
CHUNK_MAX_TOKENS = 180
CHUNK_OVERLAP_TOKENS = 30  # the previous chunk's last sentence in the same section, when at most this long
EMBED_BATCH = 32
INDEX_PENDING_STALE = timedelta(minutes=5)  # a document waiting this long is sent again (idempotent)
DEMO_KNOWLEDGE_DIR = Path(settings.BASE_DIR) / "support" / "demo_data" / "knowledge"

_PAGE_MARK = re.compile(r"<!--\s*page:\s*(\d+)\s*-->")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class ChunkDraft:
    heading: str
    page: int | None
    text: str


def _approx_tokens(text: str) -> int:
    """Word pieces, approximated (words and signs, plus 15% for split words); indexing uses the real tokenizer."""
    return int(len(re.findall(r"\w+|[^\w\s]", text)) * 1.15) + 1


def chunk_split(body: str, *, max_tokens: int = CHUNK_MAX_TOKENS,
                count_tokens: Callable[[str], int] = _approx_tokens) -> list[ChunkDraft]:
    """Split a document body into chunks on headings and paragraphs, with a small overlap.

    Page markers (`<!-- page: N -->`) set the page of what follows; `#`..`######` headings start a
    new section (the heading path, without the document title, is kept with each chunk). Within a
    section, paragraphs are packed up to `max_tokens`; a longer paragraph is split on sentences.
    The next chunk of the same section starts with the previous chunk's last sentence when short.
    """
    chunks: list[ChunkDraft] = []
    page: int | None = None
    headings: list[tuple[int, str]] = []
    paragraphs: list[str] = []
    section_page: int | None = None

    def flush_section():
        nonlocal paragraphs
        heading = " › ".join(text for level, text in headings if level > 1) or (headings[0][1] if headings else "")
        pieces: list[str] = []
        for paragraph in paragraphs:
            if count_tokens(paragraph) <= max_tokens:
                pieces.append(paragraph)
            else:
                pieces.extend(_pack(_SENTENCE.split(paragraph), max_tokens, count_tokens, " "))
        overlap = ""
        for text in _pack(pieces, max_tokens, count_tokens, "\n\n"):
            if overlap and count_tokens(f"{overlap} {text}") <= max_tokens + CHUNK_OVERLAP_TOKENS:
                text = f"{overlap} {text}"
            chunks.append(ChunkDraft(heading=heading[:300], page=section_page, text=text))
            last = _SENTENCE.split(text)[-1]
            overlap = last if count_tokens(last) <= CHUNK_OVERLAP_TOKENS and last != text else ""
        paragraphs = []

    block: list[str] = []

    def end_block():
        nonlocal block
        text = "\n".join(block).strip()
        if text:
            paragraphs.append(text)
        block = []

    for line in body.splitlines():
        mark = _PAGE_MARK.search(line)
        heading = _HEADING.match(line)
        if mark or heading:
            end_block()
            flush_section()
            if mark:
                page = int(mark.group(1))
            if heading:
                level = len(heading.group(1))
                headings = [h for h in headings if h[0] < level] + [(level, heading.group(2).strip())]
            section_page = page
            continue
        if not line.strip():
            end_block()
        else:
            block.append(line.rstrip())
    end_block()
    flush_section()
    return chunks


def _pack(pieces: list[str], max_tokens: int, count_tokens: Callable[[str], int], joiner: str) -> list[str]:
    packed: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}{joiner}{piece}" if current else piece
        if current and count_tokens(candidate) > max_tokens:
            packed.append(current)
            current = piece
        else:
            current = candidate
    if current:
        packed.append(current)
    return packed


def chunk_embedding_text(*, document: KnowledgeDocument, chunk: ChunkDraft) -> str:
    """What a chunk's vector is computed from: the title and heading give context to a short passage."""
    context = f"{document.title} — {chunk.heading}" if chunk.heading else document.title
    return f"{context}\n{chunk.text}"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def document_content_hash(document: KnowledgeDocument) -> str:
    return _hash(f"{document.title}\n{document.product_id}\n{document.body}")


# --- text extraction (uploads, in the embed worker; support/services/knowledge_text.py) -----------

def document_text_from_file(*, document: KnowledgeDocument, seconds: float = EXTRACT_SECONDS) -> bool:
    """Extract an uploaded document's text into `body` (embed worker). False, with status
    failed and the reason in error, when the file cannot be read in time or at all."""
    try:
        with document.file.open("rb") as handle:
            data = handle.read()
        body = document_text_extract(data=data, format=document.format, seconds=seconds)
    except KnowledgeDocumentError as exc:
        error = " ".join(exc.messages)
    except Exception as exc:  # noqa: BLE001 - a missing or unreadable stored file is the document's failure, not the worker's
        error = f"The file could not be read ({type(exc).__name__}: {str(exc)[:300]})."
    else:
        document.body = body
        document.content_hash = document_content_hash(document)
        KnowledgeDocument.objects.filter(pk=document.pk).update(body=body, content_hash=document.content_hash)
        return True
    KnowledgeDocument.objects.filter(pk=document.pk).update(status=JobStatus.FAILED, error=error, finished_at=timezone.now())
    return False


# --- writing documents --------------------------------------------------------------------------

def _unique_slug(title: str, exclude_pk: int | None = None) -> str:
    base = slugify(title)[:200] or "document"
    slug, n = base, 2
    while KnowledgeDocument.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def document_upload(*, title: str, kind: str, uploaded_file, product=None, uploaded_by=None,
                    publish: bool = False) -> KnowledgeDocument:
    """Store an uploaded article or manual and queue its indexing; published only when `publish`
    (the caller checks core.permissions.can_publish_knowledge), else it waits for an admin.

    Validates first (title, kind, a manual's product, extension in UPLOAD_FORMATS, size at most
    UPLOAD_MAX_BYTES) and raises KnowledgeDocumentError with a clear message; nothing is written
    then. The file is kept; its text is extracted by the embed worker (document_index), never in
    the request: an unreadable file ends as status failed with the reason in error.
    """
    title = (title or "").strip()
    if not title or len(title) > 200:
        raise KnowledgeDocumentError("Give the document a title (at most 200 characters).")
    if kind not in DocumentKind.values:
        raise KnowledgeDocumentError(f"Unknown kind {kind!r}: use one of {', '.join(DocumentKind.values)}.")
    if kind == DocumentKind.MANUAL and product is None:
        raise KnowledgeDocumentError("A product manual needs its product.")
    suffix = Path(uploaded_file.name or "").suffix.lower()
    if suffix not in UPLOAD_FORMATS:
        raise KnowledgeDocumentError(f"Unsupported file type {suffix or '(none)'!r}: upload PDF, Markdown, HTML or text.")
    if uploaded_file.size > UPLOAD_MAX_BYTES:
        raise KnowledgeDocumentError(f"The file is {uploaded_file.size / 1e6:.1f} MB; the limit is {UPLOAD_MAX_BYTES / 1e6:.0f} MB.")
    with transaction.atomic():
        document = KnowledgeDocument(title=title, slug=_unique_slug(title), kind=kind, product=product, is_published=publish,
                                     format=UPLOAD_FORMATS[suffix], body="", uploaded_by=uploaded_by)
        document.file.save(f"{document.slug}{suffix}", uploaded_file, save=False)
        document.content_hash = document_content_hash(document)
        document.save()
        document_reindex_request(document)
    return document


def document_changed(*, document: KnowledgeDocument) -> bool:
    """After an edit (admin form): refresh the content hash and queue indexing when it changed."""
    digest = document_content_hash(document)
    if digest == document.indexed_hash and document.status == JobStatus.DONE:
        return False
    KnowledgeDocument.objects.filter(pk=document.pk).update(content_hash=digest)
    document.content_hash = digest
    document_reindex_request(document)
    return True


def document_reindex_request(document: KnowledgeDocument, *, force: bool = False) -> None:
    """Mark the document waiting and enqueue its indexing on the embed queue once this transaction commits.

    `force` rebuilds even when the chunks match the content hash (e.g. after a chunking change).
    """
    from support.tasks import embed_knowledge_document

    fields = {"status": JobStatus.PENDING, "error": "", "updated_at": timezone.now()}
    if force:
        fields["indexed_hash"] = ""
    KnowledgeDocument.objects.filter(pk=document.pk).update(**fields)
    enqueue_on_commit(embed_knowledge_document, document.pk)  # broker down: stays pending, knowledge_index_sweep sends it


def knowledge_index_sweep(*, older_than: timedelta = INDEX_PENDING_STALE) -> int:
    """Send again the indexing of documents pending longer than `older_than` (their message never
    reached the broker, or was lost). Beat runs it; indexing is idempotent. Returns how many were sent."""
    from support.tasks import embed_knowledge_document

    stale = KnowledgeDocument.objects.filter(status=JobStatus.PENDING, updated_at__lt=timezone.now() - older_than)
    return resend_stale(stale, embed_knowledge_document)


def document_index(*, document_id: int, progress_every: int = EMBED_BATCH) -> bool:
    """Build the chunks of one document with their vectors and full-text vectors (an upload's text
    is extracted first, see document_text_from_file).

    Idempotent: when the chunks already match the content hash, nothing is done (returns False).
    Chunk vectors whose text did not change are reused. Progress (chunks_done / chunks_total) is
    written after each batch; the chunks are swapped in one transaction at the end. A document
    deleted meanwhile is a no-op. Errors are recorded on the row (status failed) and re-raised.
    """
    from llm import engine
    from llm.services.embed import embed_texts  # the model lives in worker processes only

    document = KnowledgeDocument.objects.filter(pk=document_id).first()
    if document is None:
        return False
    if document.file and not document.body and not document_text_from_file(document=document):
        return False  # recorded on the row; retrying would read the same file the same way
    digest = document_content_hash(document)
    if document.indexed_hash == digest and document.status == JobStatus.DONE:
        return False
    try:
        tokenizer = engine.embedder().tokenizer
        drafts = chunk_split(document.body, count_tokens=lambda text: len(tokenizer.tokenize(text)))
        texts = [chunk_embedding_text(document=document, chunk=draft) for draft in drafts]
        known = dict(KnowledgeChunk.objects.filter(document=document, embedding__isnull=False)
                     .values_list("content_hash", "embedding"))
        KnowledgeDocument.objects.filter(pk=document.pk).update(
            status=JobStatus.RUNNING, attempts=F("attempts") + 1, started_at=timezone.now(), finished_at=None,
            chunks_total=len(drafts), chunks_done=0, error="", content_hash=digest)
        vectors: list = [known.get(_hash(text)) for text in texts]
        missing = [i for i, vector in enumerate(vectors) if vector is None]
        for start in range(0, len(missing), progress_every):
            batch = missing[start:start + progress_every]
            for i, vector in zip(batch, embed_texts(texts=[texts[i] for i in batch]), strict=True):
                vectors[i] = vector
            KnowledgeDocument.objects.filter(pk=document.pk).update(chunks_done=len(drafts) - len(missing) + start + len(batch))
        with transaction.atomic():
            locked = KnowledgeDocument.objects.select_for_update().filter(pk=document.pk).first()
            if locked is None:
                return False
            if document_content_hash(locked) != digest:  # edited while we embedded: its own task follows
                return False
            KnowledgeChunk.objects.filter(document=locked).delete()
            KnowledgeChunk.objects.bulk_create([
                KnowledgeChunk(document=locked, position=n, heading=draft.heading, page=draft.page, text=draft.text,
                               product_id=locked.product_id, content_hash=_hash(text), embedding=vector)
                for n, (draft, text, vector) in enumerate(zip(drafts, texts, vectors, strict=True))
            ])
            KnowledgeChunk.objects.filter(document=locked).update(
                search_vector=SearchVector(Value(locked.title), "heading", weight="A", config="english")
                + SearchVector("text", weight="B", config="english"))
            KnowledgeDocument.objects.filter(pk=locked.pk).update(
                status=JobStatus.DONE, indexed_hash=digest, chunks_total=len(drafts), chunks_done=len(drafts),
                indexed_at=timezone.now(), finished_at=timezone.now(), error="")
    except Exception as exc:
        KnowledgeDocument.objects.filter(pk=document_id).update(status=JobStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now())
        raise
    return True


# --- demo knowledge -----------------------------------------------------------------------------

@dataclass
class DemoKnowledgeResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[str] | None = None


def knowledge_demo_ensure(*, directory: Path = DEMO_KNOWLEDGE_DIR) -> DemoKnowledgeResult:
    """Load the demo policies (policies/*.md) and manuals (manuals/<product external id>-*.md).

    Idempotent: documents are keyed by slug (the file name); unchanged ones are left alone, changed
    ones are updated and re-indexed. A manual whose product is not in the catalog is skipped and named.
    """
    from eshop.models import Product

    result = DemoKnowledgeResult(skipped=[])
    for kind, folder in ((DocumentKind.POLICY, "policies"), (DocumentKind.MANUAL, "manuals")):
        for path in sorted((directory / folder).glob("*.md")):
            text = path.read_text(encoding="utf-8")
            title_match = re.search(r"^#\s+(.+)$", text, re.MULTILINE)
            title = (title_match.group(1).strip() if title_match else path.stem)[:200]
            title = re.sub(r"\s+—\s+User Manual$", " — manual", title)
            product = None
            if kind == DocumentKind.MANUAL:
                external_id = int(path.name.split("-", 1)[0])
                product = Product.objects.filter(external_id=external_id).first()
                if product is None:
                    result.skipped.append(path.name)
                    continue
            body = re.sub(r"^product:\s*\d+\s*$", "", text, count=1, flags=re.MULTILINE).strip()
            with transaction.atomic():
                document = KnowledgeDocument.objects.select_for_update().filter(slug=path.stem).first()
                if document is None:
                    document = KnowledgeDocument(slug=path.stem)
                    result.created += 1
                elif (document.title, document.body, document.product_id, document.kind) == (title, body, getattr(product, "pk", None), kind):
                    result.unchanged += 1
                    continue
                else:
                    result.updated += 1
                document.title, document.body, document.kind, document.product = title, body, kind, product
                document.format = DocumentFormat.MARKDOWN
                document.content_hash = document_content_hash(document)
                document.save()
                document_reindex_request(document)
    return result


def knowledge_index_pending() -> int:
    """Queue indexing of every document whose chunks do not match its content (operator command, startup)."""
    count = 0
    for document in KnowledgeDocument.objects.exclude(status=JobStatus.DONE).only("pk"):
        document_reindex_request(document)
        count += 1
    return count
