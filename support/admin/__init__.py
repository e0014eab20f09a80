"""Admin registrations, one module per area."""

from support.admin import analytics  # noqa: F401
from support.admin import categories  # noqa: F401
from support.admin import tickets  # noqa: F401
from support.admin import chat  # noqa: F401
from support.admin import knowledge  # noqa: F401
from support.admin import classifier_heads  # noqa: F401
from support.admin import orders  # noqa: F401
