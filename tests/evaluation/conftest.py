# The support desk's fixtures, for the evaluation and benchmark tests that run over its data.
from tests.support.conftest import demo_knowledge, ticket_categories  # noqa: F401
