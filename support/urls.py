"""Storefront and staff pages of the support app. One section per area, so areas grow independently."""

from django.urls import path

from support import views

app_name = "support"

# --- Customer support pages ("Contact support", "My support requests"): tickets --------------------
customer_urlpatterns: list = [
    path("contact/", views.ticket_new, name="ticket-new"),
    path("requests/", views.ticket_list, name="ticket-list"),
    path("requests/<int:number>/", views.ticket_detail, name="ticket-detail"),
    path("requests/<int:number>/close/", views.ticket_close, name="ticket-close"),
]

# --- Agent workspace (staff) ----------------------------------------------------------------------
agent_urlpatterns: list = []

# --- Chat assistant -------------------------------------------------------------------------------
chat_urlpatterns: list = []

# --- Admin analytics (mounted under /admin/ by config/urls.py) --------------------------------------
urlpatterns = customer_urlpatterns + agent_urlpatterns + chat_urlpatterns
