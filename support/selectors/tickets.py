"""Reading tickets: the customer's own, the agent inbox (filters, sort, keyword and semantic
search), similar resolved tickets, triage progress."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value, When
from pgvector.django import CosineDistance

from core.ids import parse_id
from core.jobs import JobStatus
from llm.labels import SENTIMENT_LEVELS
from support.models import Message, Ticket
from support.models.tickets import MessageAuthor, TicketOrigin, TicketStatus

CUSTOMER_PAGE_SIZE = 20
INBOX_PAGE_SIZE = 25
SEARCH_QUERY_MAX_LENGTH = 200
SIMILAR_MAX_DISTANCE = 0.6  # cosine distance beyond which a ticket is not "similar"
SEMANTIC_MAX_DISTANCE = 0.75

SENTIMENT_ORDER = SENTIMENT_LEVELS
URGENCY_ORDER = ["urgent", "high", "normal", "low"]


# --- customer --------------------------------------------------------------------------------

def ticket_list_for_customer(*, user) -> QuerySet[Ticket]:
    return Ticket.objects.filter(customer=user).order_by("-last_activity_at", "-id")


def ticket_page_for_customer(*, user, page) -> Page:
    return Paginator(ticket_list_for_customer(user=user), CUSTOMER_PAGE_SIZE).get_page(page)


def ticket_get_for_customer(*, user, number) -> Ticket | None:
    """The customer's own ticket by public number with its public messages; None for anyone else's."""
    number = parse_id(number)
    if number is None:
        return None
    public = Message.objects.filter(is_internal=False).select_related("author")
    return (Ticket.objects.filter(customer=user, number=number).select_related("order", "product")
            .prefetch_related(Prefetch("messages", queryset=public, to_attr="public_messages")).first())


# --- agent -----------------------------------------------------------------------------------

@dataclass
class InboxFilters:
    """The inbox view, as it is in the URL query string."""

    status: str = "open"  # a TicketStatus value or "all"
    category: str = ""  # slug
    sentiment: str = ""
    urgency: str = ""
    assignee: str = ""  # "me", "none" or a user id
    product: str = ""  # product id
    ai: str = ""  # a JobStatus value
    q: str = ""
    mode: str = "keyword"  # or "semantic"
    sort: str = "-activity"
    errors: list[str] = field(default_factory=list)


INBOX_SORTS = {
    "-activity": "last activity (newest)",
    "activity": "last activity (oldest)",
    "urgency": "urgency (most urgent)",
    "sentiment": "sentiment (most negative)",
    "-age": "age (newest)",
    "age": "age (oldest)",
}


def _level_rank(field_name: str, order: list[str]):
    return Case(*[When(**{field_name: level}, then=Value(i)) for i, level in enumerate(order)],
                default=Value(len(order)), output_field=IntegerField())


def ticket_inbox_queryset(*, filters: InboxFilters, user) -> QuerySet[Ticket]:
    """Tickets for the agent inbox, filtered and sorted (semantic search orders by distance)."""
    tickets = Ticket.objects.select_related("customer", "category", "assignee", "product", "order")
    if filters.status != "all":
        tickets = tickets.filter(status=filters.status)
    if filters.category:
        tickets = tickets.filter(category__slug=filters.category)
    if filters.sentiment:
        tickets = tickets.filter(sentiment=filters.sentiment)
    if filters.urgency:
        tickets = tickets.filter(urgency=filters.urgency)
    if filters.assignee == "me":
        tickets = tickets.filter(assignee=user)
    elif filters.assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    elif parse_id(filters.assignee) is not None:
        tickets = tickets.filter(assignee_id=parse_id(filters.assignee))
    if parse_id(filters.product) is not None:
        tickets = tickets.filter(product_id=parse_id(filters.product))
    if filters.ai:
        tickets = tickets.filter(ai_status=filters.ai)
    query = filters.q.strip()[:SEARCH_QUERY_MAX_LENGTH]
    if query and filters.mode == "semantic":
        from eshop.selectors.search_query import search_query_vector

        return (tickets.filter(embedding__isnull=False)
                .annotate(distance=CosineDistance("embedding", search_query_vector(query=query)))
                .filter(distance__lt=SEMANTIC_MAX_DISTANCE).order_by("distance", "-id"))
    if query:
        search = SearchQuery(query, search_type="websearch", config="english")
        number = parse_id(query.lstrip("#"))
        number_match = Q(number=number) if number is not None else Q(pk__in=[])
        in_messages = Exists(Message.objects.filter(ticket=OuterRef("pk")).annotate(
            document=SearchVector("body", config="english")).filter(document=search))
        tickets = tickets.annotate(document=SearchVector("subject", "title", "summary", config="english")).filter(
            Q(document=search) | in_messages | number_match | Q(customer__email__iexact=query))
    orderings = {
        "-activity": ["-last_activity_at", "-id"],
        "activity": ["last_activity_at", "id"],
        "-age": ["-created_at", "-id"],
        "age": ["created_at", "id"],
    }
    if filters.sort == "urgency":
        return tickets.annotate(rank=_level_rank("urgency", URGENCY_ORDER)).order_by("rank", "-last_activity_at", "-id")
    if filters.sort == "sentiment":
        return tickets.annotate(rank=_level_rank("sentiment", SENTIMENT_ORDER)).order_by("rank", "sentiment_score", "-id")
    return tickets.order_by(*orderings.get(filters.sort, orderings["-activity"]))


def ticket_inbox_page(*, filters: InboxFilters, user, page) -> Page:
    return Paginator(ticket_inbox_queryset(filters=filters, user=user), INBOX_PAGE_SIZE).get_page(page)


def ticket_status_counts() -> dict[str, int]:
    counts = dict(Ticket.objects.values_list("status").annotate(n=Count("id")).order_by())
    result = {status: counts.get(status, 0) for status in TicketStatus.values}
    result["all"] = sum(result.values())
    return result


@dataclass(frozen=True)
class TriageProgress:
    done: int
    total: int
    failed: int
    waiting: int

    @property
    def complete(self) -> bool:
        return self.waiting == 0


def triage_progress() -> TriageProgress:
    """How many tickets the AI has triaged (for the inbox banner, healthz and seed_demo)."""
    counts = dict(Ticket.objects.exclude(origin=TicketOrigin.IMPORT)  # imported history is labelled, never triaged
                  .values_list("ai_status").annotate(n=Count("id")).order_by())
    total = sum(counts.values())
    return TriageProgress(done=counts.get(JobStatus.DONE, 0), total=total, failed=counts.get(JobStatus.FAILED, 0),
                          waiting=counts.get(JobStatus.PENDING, 0) + counts.get(JobStatus.RUNNING, 0))


def ticket_inbox_state() -> dict:
    """A small fingerprint of the inbox for live updates: it changes when a ticket is created,
    triaged, answered or moved."""
    latest = Ticket.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
    progress = triage_progress()
    return {"latest": latest.isoformat() if latest else "", "counts": ticket_status_counts(),
            "triage": {"done": progress.done, "total": progress.total, "failed": progress.failed,
                       "waiting": progress.waiting}}


def ticket_get_for_agent(*, number) -> Ticket | None:
    number = parse_id(number)
    if number is None:
        return None
    messages = Message.objects.select_related("author")
    return (Ticket.objects.filter(number=number)
            .select_related("customer", "category", "assignee", "product", "order")
            .prefetch_related(Prefetch("messages", queryset=messages), "corrections__corrected_by").first())


@dataclass(frozen=True)
class SimilarTicket:
    ticket: Ticket
    distance: float
    resolution: str  # the last public agent message: how it was resolved


def tickets_similar_resolved(*, ticket: Ticket, limit: int = 5) -> list[SimilarTicket]:
    """Resolved or closed tickets nearest to `ticket` by embedding, each with its last agent reply."""
    if ticket.embedding is None:
        return []
    last_reply = (Message.objects.filter(ticket=OuterRef("pk"), author_kind=MessageAuthor.AGENT, is_internal=False)
                  .order_by("-created_at", "-id").values("body")[:1])
    rows = (Ticket.objects.filter(status__in=[TicketStatus.RESOLVED, TicketStatus.CLOSED], embedding__isnull=False)
            .exclude(pk=ticket.pk).select_related("category")
            .annotate(distance=CosineDistance("embedding", ticket.embedding), resolution=Subquery(last_reply))
            .filter(distance__lt=SIMILAR_MAX_DISTANCE).order_by("distance")[:limit])
    return [SimilarTicket(ticket=row, distance=float(row.distance), resolution=row.resolution or "") for row in rows]


def support_agents():
    from django.conf import settings

    from eshop.models import User

    return User.objects.filter(is_active=True).filter(
        Q(is_superuser=True) | Q(is_staff=True, groups__name=settings.SUPPORT_AGENTS_GROUP)).distinct().order_by("email")
