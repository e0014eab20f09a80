"""The analytics views ask-the-data may read (created by migration 0005_issue7_analytics_views; no
customer text since 0008_issue13_question_attempts_views_without_text),
documented for the model's prompt and the dashboard. A test keeps this in step with the database."""

SCHEMA = "analytics"

VIEWS: dict[str, dict[str, str]] = {
    "tickets": {
        "_": "One row per support ticket.",
        "id": "ticket id", "number": "public ticket number (e.g. 1042)",
        "status": "open, pending (waiting for the customer), resolved or closed",
        "origin": "form, chat, api or demo", "category": "slug: order-status, order-change, returns-refunds, defect-warranty, product-question, billing-payment, account or feedback",
        "category_name": "category name", "sentiment": "very_negative, negative, neutral, positive or very_positive (null if not triaged)",
        "sentiment_score": "-1 .. 1", "urgency": "low, normal, high or urgent", "product_id": "products.id",
        "order_id": "orders.id", "language": "ISO code, e.g. en", "customer_id": "the customer's id",
        "assignee_id": "the agent's id", "created_at": "timestamptz", "first_response_at": "first agent reply (timestamptz, null if none)",
        "resolved_at": "timestamptz, null if not resolved", "last_activity_at": "timestamptz",
        "ai_status": "pending, running, done or failed", "ai_seconds": "seconds the AI triage took",
    },
    "ticket_messages": {
        "_": "Messages in ticket threads (no text).",
        "id": "message id", "ticket_id": "tickets.id", "author_kind": "customer, agent or system",
        "is_internal": "agents-only note", "body_length": "characters", "created_at": "timestamptz",
    },
    "corrections": {
        "_": "An agent corrected a field the AI had set.",
        "id": "id", "ticket_id": "tickets.id", "field": "category, sentiment, urgency, product, title, summary, order or language",
        "from_value": "the AI's value (null for title and summary: no customer text here)",
        "to_value": "the agent's value (null for title and summary)", "created_at": "timestamptz",
    },
    "conversations": {
        "_": "Customer chat conversations with the assistant.",
        "id": "id", "customer_id": "null when anonymous", "ticket_id": "ticket created by hand-off, else null",
        "handed_off": "true when the chat ended in a ticket", "created_at": "timestamptz",
    },
    "chat_turns": {
        "_": "One customer question and the assistant's answer.",
        "id": "id", "conversation_id": "conversations.id", "product_id": "product page asked from",
        "status": "pending, running, done or failed", "abstained": "true when the assistant said it did not know",
        "rating": "1 thumbs up, -1 thumbs down, null not rated", "seconds_to_sources": "seconds",
        "seconds_to_first_token": "seconds", "seconds_total": "seconds", "created_at": "timestamptz",
    },
    "orders": {
        "_": "Shop orders.",
        "id": "id", "number": "public order number (e.g. TH-123456)", "customer_id": "the customer's id",
        "status": "placed, paid, shipped, delivered, cancelled or returned", "shipping_method": "standard or express",
        "country": "2-letter country code", "region": "state / province", "subtotal": "numeric", "shipping_cost": "numeric",
        "total": "numeric", "created_at": "timestamptz",
    },
    "order_lines": {
        "_": "Lines of an order.",
        "id": "id", "order_id": "orders.id", "product_id": "products.id", "product_name": "name at purchase",
        "unit_price": "numeric", "quantity": "integer", "line_total": "unit_price * quantity",
    },
    "products": {
        "_": "Products in the catalog.",
        "id": "id", "name": "brand and model", "brand": "brand", "model": "model", "category_id": "categories.id",
        "price": "numeric", "stock": "units in stock", "is_active": "on sale", "created_at": "timestamptz",
    },
    "categories": {
        "_": "Product categories.",
        "id": "id", "name": "name", "slug": "slug",
    },
    "task_runs": {
        "_": "Runs of language-model and embedding tasks.",
        "id": "id", "task_name": "Celery task name", "queue": "llm or embed", "status": "success, failure or retry",
        "seconds": "duration", "started_at": "timestamptz",
    },
}


def schema_prompt() -> str:
    """The views as compact DDL-like lines for the model's prompt."""
    lines = []
    for view, columns in VIEWS.items():
        cols = ", ".join(f"{name} /* {doc} */" if doc else name for name, doc in columns.items() if name != "_")
        lines.append(f"-- {columns['_']}\n{SCHEMA}.{view}({cols})")
    return "\n".join(lines)
