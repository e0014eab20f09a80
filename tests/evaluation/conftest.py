# The support desk's fixtures, for the evaluation and benchmark tests that run over its data, and the
# real web server (as `make run` starts it) for the load bench.
from tests.core.conftest import web_server  # noqa: F401
from tests.support.conftest import demo_knowledge, ticket_categories  # noqa: F401
