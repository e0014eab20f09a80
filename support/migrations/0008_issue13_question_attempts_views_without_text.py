"""Issue 13: ask-the-data questions count their runs (attempts, started_at), and the analytics views
lose the last customer-derived text: tickets.title, and the from/to values of title and summary
corrections (the AI summary). A view cannot drop a column in place, so those two are dropped and created again,
and the reader role's SELECT is granted again where the role exists (README, Security, says how
to create it where the migration could not).
"""

from django.db import migrations, models

VIEWS = """
DROP VIEW IF EXISTS analytics.tickets;
CREATE VIEW analytics.tickets AS
SELECT t.id, t.number, t.status, t.origin, c.slug AS category, c.name AS category_name,
       NULLIF(t.sentiment, '') AS sentiment, t.sentiment_score, NULLIF(t.urgency, '') AS urgency,
       t.product_id, t.order_id, NULLIF(t.language, '') AS language, t.customer_id, t.assignee_id,
       t.created_at, t.first_response_at, t.resolved_at, t.last_activity_at, t.ai_status, t.ai_seconds
FROM support_ticket t LEFT JOIN support_ticketcategory c ON c.id = t.category_id;

DROP VIEW IF EXISTS analytics.corrections;
CREATE VIEW analytics.corrections AS
SELECT k.id, k.ticket_id, k.field,
       CASE WHEN k.field IN ('title', 'summary') THEN NULL ELSE k.from_value END AS from_value,
       CASE WHEN k.field IN ('title', 'summary') THEN NULL ELSE k.to_value END AS to_value, k.created_at
FROM support_ticketcorrection k;

DO $$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'analytics_reader') THEN
    GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO analytics_reader;
  ELSE
    RAISE WARNING 'role analytics_reader does not exist: ask-the-data refuses to run until it is created (README, Security)';
  END IF;
  BEGIN
    EXECUTE format('GRANT SET ON PARAMETER temp_file_limit TO %I', current_user);
  EXCEPTION WHEN insufficient_privilege OR feature_not_supported OR syntax_error THEN
    RAISE WARNING 'the app role may not set temp_file_limit: ask-the-data refuses to run until it may (README, Security)';
  END;
END $$;
"""

OLD_TICKETS = """
DROP VIEW IF EXISTS analytics.tickets;
CREATE VIEW analytics.tickets AS
SELECT t.id, t.number, t.status, t.origin, c.slug AS category, c.name AS category_name,
       NULLIF(t.sentiment, '') AS sentiment, t.sentiment_score, NULLIF(t.urgency, '') AS urgency,
       t.product_id, t.order_id, NULLIF(t.language, '') AS language, t.title, t.customer_id, t.assignee_id,
       t.created_at, t.first_response_at, t.resolved_at, t.last_activity_at, t.ai_status, t.ai_seconds
FROM support_ticket t LEFT JOIN support_ticketcategory c ON c.id = t.category_id;
DROP VIEW IF EXISTS analytics.corrections;
CREATE VIEW analytics.corrections AS
SELECT k.id, k.ticket_id, k.field, k.from_value, k.to_value, k.created_at FROM support_ticketcorrection k;
DO $$ BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'analytics_reader') THEN
    GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO analytics_reader;
  END IF;
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("support", "0007_merge_issue5"),
    ]

    operations = [
        migrations.AddField(
            model_name="dataquestion", name="attempts",
            field=models.PositiveSmallIntegerField(default=0, help_text="Runs started (a killed worker's run counts)."),
        ),
        migrations.AddField(
            model_name="dataquestion", name="started_at",
            field=models.DateTimeField(blank=True, null=True, help_text="When the latest run started."),
        ),
        migrations.RunSQL(VIEWS, reverse_sql=OLD_TICKETS),
    ]
