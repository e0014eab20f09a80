"""Ask the data: read-only views in a schema `analytics` (no e-mails, passwords, addresses, message
bodies, auth or session tables) and a role `analytics_reader` that may read only those views.

The views are documented in support/analytics/schema.py (what the SLM is shown); a test keeps
the two in step. Creating the role needs CREATEROLE: where the server refuses, a warning is
raised and ask-the-data falls back to the app's own role (still read-only transactions over the
validated views). Roles are cluster-wide, so the reverse migration drops the views, not the role.
"""

from django.db import migrations

VIEWS = """
CREATE SCHEMA IF NOT EXISTS analytics;

CREATE OR REPLACE VIEW analytics.tickets AS
SELECT t.id, t.number, t.status, t.origin, c.slug AS category, c.name AS category_name,
       NULLIF(t.sentiment, '') AS sentiment, t.sentiment_score, NULLIF(t.urgency, '') AS urgency,
       t.product_id, t.order_id, NULLIF(t.language, '') AS language, t.title, t.customer_id, t.assignee_id,
       t.created_at, t.first_response_at, t.resolved_at, t.last_activity_at, t.ai_status, t.ai_seconds
FROM support_ticket t LEFT JOIN support_ticketcategory c ON c.id = t.category_id;

CREATE OR REPLACE VIEW analytics.ticket_messages AS
SELECT m.id, m.ticket_id, m.author_kind, m.is_internal, length(m.body) AS body_length, m.created_at
FROM support_message m;

CREATE OR REPLACE VIEW analytics.corrections AS
SELECT k.id, k.ticket_id, k.field, k.from_value, k.to_value, k.created_at
FROM support_ticketcorrection k;

CREATE OR REPLACE VIEW analytics.conversations AS
SELECT v.id, v.user_id AS customer_id, v.ticket_id, v.ticket_id IS NOT NULL AS handed_off, v.created_at
FROM support_conversation v;

CREATE OR REPLACE VIEW analytics.chat_turns AS
SELECT u.id, u.conversation_id, u.product_id, u.status, u.abstained, u.rating, u.seconds_to_sources,
       u.seconds_to_first_token, u.seconds_total, u.created_at
FROM support_chatturn u;

CREATE OR REPLACE VIEW analytics.orders AS
SELECT o.id, o.number, o.user_id AS customer_id, o.status, o.shipping_method, o.ship_country AS country,
       o.ship_region AS region, o.subtotal, o.shipping_cost, o.total, o.created_at
FROM eshop_order o;

CREATE OR REPLACE VIEW analytics.order_lines AS
SELECT l.id, l.order_id, l.product_id, l.product_name, l.unit_price, l.quantity, l.unit_price * l.quantity AS line_total
FROM eshop_orderline l;

CREATE OR REPLACE VIEW analytics.products AS
SELECT p.id, p.brand || ' ' || p.model AS name, p.brand, p.model, p.category_id, p.price, p.stock, p.is_active, p.created_at
FROM eshop_product p;

CREATE OR REPLACE VIEW analytics.categories AS
SELECT g.id, g.name, g.slug FROM eshop_category g;

CREATE OR REPLACE VIEW analytics.task_runs AS
SELECT r.id, r.task_name, r.queue, r.status, r.seconds, r.started_at FROM llm_taskrun r;
"""

READER_ROLE = """
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'analytics_reader') THEN
    CREATE ROLE analytics_reader NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
  EXECUTE format('GRANT analytics_reader TO %I', current_user);
  GRANT USAGE ON SCHEMA analytics TO analytics_reader;
  GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO analytics_reader;
EXCEPTION WHEN insufficient_privilege THEN
  RAISE WARNING 'role analytics_reader could not be set up (%): ask-the-data runs as the app role', SQLERRM;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0004_issue7_data_questions"),
        ("eshop", "0003_cart_orders_addresses"),
        ("llm", "0002_issue7_task_runs"),
    ]

    operations = [
        migrations.RunSQL(VIEWS, reverse_sql="DROP SCHEMA IF EXISTS analytics CASCADE;"),
        migrations.RunSQL(READER_ROLE, reverse_sql=migrations.RunSQL.noop),
    ]
