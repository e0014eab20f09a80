"""Text of uploaded knowledge documents (PDF, Markdown, HTML, text), read in the embed worker with a
time limit. Every parser failure becomes a KnowledgeDocumentError with a message for the uploader."""

from __future__ import annotations

import html
import io
import re
import signal
import threading
from contextlib import contextmanager

import nh3
from django.core.exceptions import ValidationError

from llm.services.common import control_characters_strip
from support.models.knowledge import DocumentFormat


class KnowledgeDocumentError(ValidationError):
    """An upload or document that cannot be indexed; the message says why, for the uploader."""


EXTRACT_SECONDS = 120  # reading one uploaded file; a file that takes longer fails with a message
_HTML_KEEP = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "div", "li", "tr", "section", "article", "ul", "ol", "table", "br"}
_HTML_HEADING = re.compile(r"<h([1-6])>(.*?)</h\1>", re.S)


class ExtractionTimeout(BaseException):
    """Reading a file ran past EXTRACT_SECONDS (a BaseException, so no parser's `except Exception` eats it)."""


def document_text_extract(*, data: bytes, format: str, seconds: float = EXTRACT_SECONDS) -> str:
    """The searchable text of an uploaded file. PDFs keep their pages as `<!-- page: N -->` marks.

    Raises KnowledgeDocumentError with a message for the uploader (unreadable file, PDF without
    text, reading took longer than `seconds`).
    """
    try:
        with _time_limit(seconds):
            return _extract(data=data, format=format)
    except ExtractionTimeout:
        raise KnowledgeDocumentError(f"Reading the file took longer than {seconds:g} s and was stopped. "
                                     "Upload a smaller or simpler file.") from None


def _extract(*, data: bytes, format: str) -> str:
    if format == DocumentFormat.PDF:
        from pypdf import PdfReader

        try:
            reader = PdfReader(io.BytesIO(data))
            pages = [(page.extract_text() or "").strip() for page in reader.pages]
        except Exception as exc:  # noqa: BLE001 - any parser failure (LimitReachedError, a broken stream, ...) is the file's
            raise KnowledgeDocumentError(f"The PDF could not be read ({type(exc).__name__}: {str(exc)[:300]}).") from None
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
    """Headings become Markdown headings (so chunks keep them), block ends become blank lines, tags go.

    A real HTML parser (nh3: html5ever, linear time) reduces the markup to well-formed headings and
    blocks without attributes, scripts or styles first; the patterns below only ever see that.
    """
    cleaned = nh3.clean(markup, tags=_HTML_KEEP, attributes={}, clean_content_tags={"script", "style", "title"},
                        strip_comments=True)
    cleaned = _HTML_HEADING.sub(lambda m: "\n\n" + "#" * int(m.group(1)) + " " + " ".join(m.group(2).split()) + "\n\n", cleaned)
    cleaned = re.sub(r"</(p|div|li|tr|section|article|ul|ol|table)>|<br>", "\n\n", cleaned)
    text = html.unescape(re.sub(r"<[^>]*>", " ", cleaned))
    return re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+", " ", text))


@contextmanager
def _time_limit(seconds: float):
    """Raise ExtractionTimeout in this thread after `seconds` (a worker's main thread; elsewhere the
    task's own soft time limit is the bound)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame):
        raise ExtractionTimeout

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
