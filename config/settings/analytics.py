"""Ask the data: limits on the SQL the model writes (support/analytics/safe_sql.py)."""

from config.env import env_int

ANALYTICS_ROW_LIMIT = env_int("ANALYTICS_ROW_LIMIT", 500)  # rows kept and shown per answer
ANALYTICS_STATEMENT_TIMEOUT_MS = env_int("ANALYTICS_STATEMENT_TIMEOUT_MS", 5_000)  # SET LOCAL statement_timeout
