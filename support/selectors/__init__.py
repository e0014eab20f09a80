from llm.services.triage import CategoryOption
from support.models import TicketCategory


def ticket_category_options() -> list[CategoryOption]:
    """The active categories as the classifier takes them."""
    return [CategoryOption(slug=c.slug, name=c.name, description=c.description)
            for c in TicketCategory.objects.filter(is_active=True).order_by("slug")]


def ticket_training_examples(*, task: str) -> list[tuple[str, str]]:
    """(customer text, label) pairs to train a head for `task` ("category" or "sentiment").

    Today: the seed labels of the demo tickets (support/demo_data/demo_tickets.json). Agent
    corrections join this set once tickets are stored (support-desk issue). The evaluation set
    (llm/evaluation/data) is never used here.
    """
    import json
    from pathlib import Path

    seed = Path(__file__).resolve().parents[1] / "demo_data" / "demo_tickets.json"
    examples = []
    for ticket in json.loads(seed.read_text()):
        text = "\n".join(m["body"] for m in ticket["messages"] if m["author"] == "customer")
        examples.append((text, ticket["labels"][task]))
    return examples
