"""Support API routes. One section per area."""

# --- Tickets: customer and agent API --------------------------------------------------------------
ticket_urlpatterns: list = []

# --- Knowledge base and chat ----------------------------------------------------------------------
chat_urlpatterns: list = []

urlpatterns = ticket_urlpatterns + chat_urlpatterns
