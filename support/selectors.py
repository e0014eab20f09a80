from llm.services.triage import CategoryOption
from support.models import TicketCategory


def ticket_category_options() -> list[CategoryOption]:
    """The active categories as the classifier takes them."""
    return [CategoryOption(slug=c.slug, name=c.name, description=c.description)
            for c in TicketCategory.objects.filter(is_active=True).order_by("slug")]
