"""The knowledge base: documents in (uploads, demo articles), chunks and their vectors out.

Indexing runs on the `embed` queue (support.tasks.embed_knowledge_document), is idempotent by
content hash, and swaps a document's chunks in one transaction so search never sees half an index.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Value
from django.utils import timezone
from django.utils.text import slugify

from llm.services.common import control_characters_strip
from support.models import KnowledgeChunk, KnowledgeDocument
from support.models.knowledge import DocumentFormat, DocumentKind, IndexStatus

UPLOAD_MAX_BYTES = 10 * 1024 * 1024
UPLOAD_FORMATS = {".pdf": DocumentFormat.PDF, ".md": DocumentFormat.MARKDOWN, ".markdown": DocumentFormat.MARKDOWN,
                  ".html": DocumentFormat.HTML, ".htm": DocumentFormat.HTML, ".txt": DocumentFormat.TEXT}
# MiniLM reads 256 word pieces: a chunk of at most 180 (+30 of overlap) leaves room for the title and heading.
CHUNK_MAX_TOKENS = 180
CHUNK_OVERLAP_TOKENS = 30  # the previous chunk's last sentence in the same section, when at most this long
EMBED_BATCH = 32
DEMO_KNOWLEDGE_DIR = Path(settings.BASE_DIR) / "support" / "demo_data" / "knowledge"

_PAGE_MARK = re.compile(r"<!--\s*page:\s*(\d+)\s*-->")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


class KnowledgeDocumentError(ValidationError):
    """An upload or document that cannot be indexed; the message says why, for the uploader."""


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


# --- text extraction (uploads) ------------------------------------------------------------------

def document_text_extract(*, data: bytes, format: str) -> str:
    """The searchable text of an uploaded file. PDFs keep their pages as `<!-- page: N -->` marks.

    Raises KnowledgeDocumentError with a message for the uploader (unreadable file, PDF without text).
    """
    if format == DocumentFormat.PDF:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        try:
            reader = PdfReader(io.BytesIO(data))
            pages = [(page.extract_text() or "").strip() for page in reader.pages]
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            raise KnowledgeDocumentError(f"The PDF could not be read ({exc}).") from None
        if not any(pages):
            raise KnowledgeDocumentError(
                "This PDF has no text layer (it is probably scanned images): nothing could be extracted. "
                "Upload a PDF with selectable text, or the manual as Markdown or text."
            )
        return "\n\n".join(f"<!-- page: {n} -->\n{text}" for n, text in enumerate(pages, 1) if text)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise KnowledgeDocumentError("The file is not UTF-8 text.") from None
    if format == DocumentFormat.HTML:
        text = _html_to_text(text)
    text = control_characters_strip(text)
    if not text:
        raise KnowledgeDocumentError("The file has no text.")
    return text


def _html_to_text(markup: str) -> str:
    """Headings become Markdown headings (so chunks keep them), block ends become blank lines, tags go."""
    markup = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", "", markup)
    markup = re.sub(r"(?is)<h([1-6])[^>]*>(.*?)</h\1>", lambda m: "\n\n" + "#" * int(m.group(1)) + " " + m.group(2) + "\n\n", markup)
    markup = re.sub(r"(?i)</(p|div|li|tr|section|article|ul|ol|table)>|<br\s*/?>", "\n\n", markup)
    text = html.unescape(re.sub(r"<[^>]+>", " ", markup))
    return re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+", " ", text))


# --- writing documents --------------------------------------------------------------------------

def _unique_slug(title: str, exclude_pk: int | None = None) -> str:
    base = slugify(title)[:200] or "document"
    slug, n = base, 2
    while KnowledgeDocument.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def document_upload(*, title: str, kind: str, uploaded_file, product=None, uploaded_by=None) -> KnowledgeDocument:
    """Store an uploaded article or manual and queue its indexing.

    Validates first (title, kind, a manual's product, extension in UPLOAD_FORMATS, size at most
    UPLOAD_MAX_BYTES, extractable text) and raises KnowledgeDocumentError with a clear message;
    nothing is written then. The file is kept; its text goes to `body`.
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
    data = uploaded_file.read()
    body = document_text_extract(data=data, format=UPLOAD_FORMATS[suffix])
    uploaded_file.seek(0)
    with transaction.atomic():
        document = KnowledgeDocument(title=title, slug=_unique_slug(title), kind=kind, product=product,
                                     format=UPLOAD_FORMATS[suffix], body=body, uploaded_by=uploaded_by)
        document.file.save(f"{document.slug}{suffix}", uploaded_file, save=False)
        document.content_hash = document_content_hash(document)
        document.save()
        document_reindex_request(document)
    return document


def document_changed(*, document: KnowledgeDocument) -> bool:
    """After an edit (admin form): refresh the content hash and queue indexing when it changed."""
    digest = document_content_hash(document)
    if digest == document.indexed_hash and document.index_status == IndexStatus.INDEXED:
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

    fields = {"index_status": IndexStatus.PENDING, "index_error": ""}
    if force:
        fields["indexed_hash"] = ""
    KnowledgeDocument.objects.filter(pk=document.pk).update(**fields)
    transaction.on_commit(lambda: embed_knowledge_document.delay(document.pk))


def document_index(*, document_id: int, progress_every: int = EMBED_BATCH) -> bool:
    """Build the chunks of one document with their vectors and full-text vectors.

    Idempotent: when the chunks already match the content hash, nothing is done (returns False).
    Chunk vectors whose text did not change are reused. Progress (chunks_done / chunks_total) is
    written after each batch; the chunks are swapped in one transaction at the end. A document
    deleted meanwhile is a no-op. Errors are recorded on the row (index_status failed) and re-raised.
    """
    from llm import engine
    from llm.services.embed import embed_texts  # the model lives in worker processes only

    document = KnowledgeDocument.objects.filter(pk=document_id).first()
    if document is None:
        return False
    digest = document_content_hash(document)
    if document.indexed_hash == digest and document.index_status == IndexStatus.INDEXED:
        return False
    try:
        tokenizer = engine.embedder().tokenizer
        drafts = chunk_split(document.body, count_tokens=lambda text: len(tokenizer.tokenize(text)))
        texts = [chunk_embedding_text(document=document, chunk=draft) for draft in drafts]
        known = dict(KnowledgeChunk.objects.filter(document=document, embedding__isnull=False)
                     .values_list("content_hash", "embedding"))
        KnowledgeDocument.objects.filter(pk=document.pk).update(
            index_status=IndexStatus.INDEXING, chunks_total=len(drafts), chunks_done=0, index_error="", content_hash=digest)
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
                index_status=IndexStatus.INDEXED, indexed_hash=digest, chunks_total=len(drafts), chunks_done=len(drafts),
                indexed_at=timezone.now(), index_error="")
    except Exception as exc:
        KnowledgeDocument.objects.filter(pk=document_id).update(index_status=IndexStatus.FAILED, index_error=str(exc)[:2000])
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
    for document in KnowledgeDocument.objects.exclude(index_status=IndexStatus.INDEXED).only("pk"):
        document_reindex_request(document)
        count += 1
    return count
