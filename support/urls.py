"""Storefront and staff pages of the support app. One section per area, so areas grow independently."""

from django.urls import path

app_name = "support"

# --- Customer support pages ("Contact support", "My support requests"): tickets --------------------
customer_urlpatterns: list = []

# --- Agent workspace (staff) ----------------------------------------------------------------------
agent_urlpatterns: list = []

# --- Chat assistant -------------------------------------------------------------------------------
chat_urlpatterns: list = []

# --- Admin analytics (mounted under /admin/ by config/urls.py) --------------------------------------
# support/analytics/urls.py, at /admin/analytics/ (namespace "analytics").
urlpatterns = customer_urlpatterns + agent_urlpatterns + chat_urlpatterns
