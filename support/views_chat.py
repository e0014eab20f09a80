"""Pages of the knowledge base (what the chat's source cards link to)."""

import re

from pathlib import Path

import markdown
import nh3
from django.http import FileResponse, Http404
from django.shortcuts import render

from core.permissions import can_read_unpublished_knowledge
from support.models.knowledge import DocumentKind
from support.selectors.knowledge import (knowledge_document_get_published, knowledge_document_get_readable,
                                         knowledge_document_titles_published)

_PAGE_MARK = re.compile(r"<!--\s*page:\s*(\d+)\s*-->")
_ALLOWED_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "ul", "ol", "li", "strong", "em", "code", "pre", "blockquote",
                 "table", "thead", "tbody", "tr", "th", "td", "a", "hr", "br", "div"}


def knowledge_document_html(body: str) -> str:
    """The document as safe HTML: Markdown rendered, then sanitized (nh3); page marks become anchors #page-N."""
    marked = _PAGE_MARK.sub(lambda m: f'\n\n<div id="page-{m.group(1)}" class="kb-page">Page {m.group(1)}</div>\n\n', body)
    rendered = markdown.markdown(marked, extensions=["tables", "sane_lists"])
    return nh3.clean(rendered, tags=_ALLOWED_TAGS, attributes={"div": {"id", "class"}, "a": {"href", "title"}},
                     url_schemes={"http", "https", "mailto"})


def knowledge_document(request, slug):
    document = knowledge_document_get_published(slug=slug)
    if document is None:
        raise Http404("No such article.")
    return render(request, "support/knowledge_document.html", {
        "document": document, "body_html": knowledge_document_html(document.body)})


def knowledge_index(request):
    return render(request, "support/knowledge_index.html", {
        "policies": knowledge_document_titles_published(kind=DocumentKind.POLICY),
        "manuals": knowledge_document_titles_published(kind=DocumentKind.MANUAL),
    })


def knowledge_document_original(request, slug):
    """The uploaded original of a document, always as a download: an uploaded .html must never run
    as a page of the shop (stored XSS), so it is an attachment, nosniff, and sandboxed if opened.
    Published documents for everyone, unpublished ones for support agents only (404 otherwise)."""
    document = knowledge_document_get_readable(slug=slug, include_unpublished=can_read_unpublished_knowledge(request.user))
    if document is None or not document.file:
        raise Http404("No such file.")
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404("No such file.") from None
    response = FileResponse(handle, as_attachment=True, filename=f"{document.slug}{Path(document.file.name).suffix.lower()}",
                            content_type="application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
