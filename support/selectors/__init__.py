from llm.services.triage import CategoryOption
from support.models import TicketCategory


def ticket_category_options() -> list[CategoryOption]:
    """The active categories as the classifier takes them."""
    return [CategoryOption(slug=c.slug, name=c.name, description=c.description)
            for c in TicketCategory.objects.filter(is_active=True).order_by("slug")]


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
    for correction in newest_per_ticket.values():
        ticket = correction.ticket
        text = ticket_customer_text(ticket)
        if text and correction.to_value:
            examples[f"demo:{ticket.demo_ref}" if ticket.demo_ref else f"ticket:{ticket.pk}"] = (text, correction.to_value)
    return list(examples.values())
