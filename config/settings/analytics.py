"""Ask the data: limits on the SQL the model writes (support/analytics/safe_sql.py)."""

from config.env import env_int

ANALYTICS_ROW_LIMIT = env_int("ANALYTICS_ROW_LIMIT", 500)  # rows kept and shown per answer
ANALYTICS_STATEMENT_TIMEOUT_MS = env_int("ANALYTICS_STATEMENT_TIMEOUT_MS", 5_000)  # SET LOCAL statement_timeout
ANALYTICS_RESULT_MAX_BYTES = env_int("ANALYTICS_RESULT_MAX_BYTES", 1_000_000)  # rows kept, as JSON
ANALYTICS_WORK_MEM_KB = env_int("ANALYTICS_WORK_MEM_KB", 16 * 1024)  # SET LOCAL work_mem (per sort/hash)
ANALYTICS_TEMP_FILE_LIMIT_KB = env_int("ANALYTICS_TEMP_FILE_LIMIT_KB", 100 * 1024)  # SET LOCAL temp_file_limit
