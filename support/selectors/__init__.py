from llm.services.triage import CategoryOption, LabelledExample
from support.models import TicketCategory

EXAMPLES_SHOWN = 3
EXAMPLE_MAX_DISTANCE = 0.45  # cosine distance: beyond it a labelled ticket is not similar enough to help


def ticket_category_options() -> list[CategoryOption]:
    """The active categories as the classifier takes them."""
    return [CategoryOption(slug=c.slug, name=c.name, description=c.description)
            for c in TicketCategory.objects.filter(is_active=True).order_by("slug")]


def triage_system_prompt() -> str:
    """The system prompt every triage question starts with, for the active categories (a worker warms it up)."""
    from llm.services.triage_prompt import triage_system

    return triage_system(ticket_category_options())


def ticket_training_examples(*, task: str) -> list[tuple[str, str]]:
    """(customer text, label) pairs to train a head for `task` ("category" or "sentiment").

    The seed labels of the demo tickets (support/demo_data/demo_tickets.json), then the agents'
    corrections of that field: for each corrected ticket, its customer text with the newest
    corrected label (it replaces a seed label of the same text). The evaluation set
    (evaluation/data) is never used here.
    """
    import json
    from pathlib import Path

    from support.models import TicketCorrection
    from support.services.triage import ticket_customer_text

    seed = Path(__file__).resolve().parent.parent / "demo_data" / "demo_tickets.json"
    examples: dict[str, tuple[str, str]] = {}  # demo ref or ticket id -> (text, label)
    for ticket in json.loads(seed.read_text()):
        text = "\n".join(m["body"] for m in ticket["messages"] if m["author"] == "customer")
        examples[f"demo:{ticket['ref']}"] = (text, ticket["labels"][task])
    newest_per_ticket = {}
    for correction in TicketCorrection.objects.filter(field=task).select_related("ticket").order_by("created_at", "id"):
        newest_per_ticket[correction.ticket_id] = correction
    from support.models import Ticket
    from support.models.tickets import TicketOrigin

    for ticket in Ticket.objects.filter(origin=TicketOrigin.IMPORT, agent_fields__contains=[task]).select_related("category"):
        label = ticket.category.slug if task == "category" and ticket.category else getattr(ticket, task, "")
        if label and isinstance(label, str):
            examples[f"ticket:{ticket.pk}"] = (ticket_customer_text(ticket), label)
    for correction in newest_per_ticket.values():
        ticket = correction.ticket
        text = ticket_customer_text(ticket)
        if text and correction.to_value:
            examples[f"demo:{ticket.demo_ref}" if ticket.demo_ref else f"ticket:{ticket.pk}"] = (text, correction.to_value)
    return list(examples.values())


def labelled_examples_similar(*, vector, exclude_ticket_id: int | None = None, limit: int = EXAMPLES_SHOWN) -> list[LabelledExample]:
    """The tickets whose category an agent set (a correction or a labelled import) nearest to `vector`, in an
    active category and close enough to help: shown to the model as examples of this shop's labels."""
    from pgvector.django import CosineDistance

    from support.models import Ticket
    from support.services.triage import ticket_customer_text

    rows = (Ticket.objects.filter(agent_fields__contains=["category"], category__is_active=True, embedding__isnull=False)
            .exclude(pk=exclude_ticket_id).select_related("category")
            .annotate(distance=CosineDistance("embedding", list(vector))).order_by("distance")[:limit])
    return [LabelledExample(text=ticket_customer_text(t)[:600], category=t.category.slug) for t in rows
            if t.distance <= EXAMPLE_MAX_DISTANCE]


def category_method_accuracy() -> list[dict]:
    """Per triage method: tickets whose category it decided, how many of those an agent corrected, and the
    share left standing (the method's accuracy as agents judged it)."""
    from django.db.models import Count

    from support.models import Ticket, TicketCorrection

    standing = dict(Ticket.objects.exclude(category_method__in=["", "agent", "import"]).values_list("category_method")
                    .annotate(n=Count("id")))
    corrected = dict(TicketCorrection.objects.filter(field="category").exclude(ai_method="").values_list("ai_method")
                     .annotate(n=Count("id")))
    rows = []
    for method in sorted(set(standing) | set(corrected)):
        decided = standing.get(method, 0) + corrected.get(method, 0)
        rows.append({"method": method, "decided": decided, "corrected": corrected.get(method, 0),
                     "accuracy": round(1 - corrected.get(method, 0) / decided, 3) if decided else None})
    return rows
