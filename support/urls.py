"""Storefront and staff pages of the support app. One section per area, so areas grow independently."""

from django.urls import path

from support import views, views_chat

app_name = "support"

# --- Customer support pages ("Contact support", "My support requests"): tickets --------------------
customer_urlpatterns: list = [
    path("contact/", views.ticket_new, name="ticket-new"),
    path("requests/", views.ticket_list, name="ticket-list"),
    path("requests/<int:number>/", views.ticket_detail, name="ticket-detail"),
    path("requests/<int:number>/close/", views.ticket_close, name="ticket-close"),
]

# --- Agent workspace (staff) ----------------------------------------------------------------------
agent_urlpatterns: list = [
    path("desk/", views.desk_inbox, name="desk-inbox"),
    path("desk/state/", views.desk_inbox_state, name="desk-inbox-state"),
    path("desk/tickets/<int:number>/", views.desk_ticket, name="desk-ticket"),
    path("desk/tickets/<int:number>/state/", views.desk_ticket_state, name="desk-ticket-state"),
    path("desk/tickets/<int:number>/reply/", views.desk_ticket_reply, name="desk-ticket-reply"),
    path("desk/tickets/<int:number>/update/", views.desk_ticket_update, name="desk-ticket-update"),
]

# --- Chat assistant and knowledge base --------------------------------------------------------------
chat_urlpatterns: list = [
    path("help/", views_chat.knowledge_index, name="kb-index"),
    path("help/<slug:slug>/", views_chat.knowledge_document, name="kb-document"),
    path("help/<slug:slug>/original/", views_chat.knowledge_document_original, name="kb-document-original"),
]

# --- Admin analytics (mounted under /admin/ by config/urls.py) --------------------------------------
# support/analytics/urls.py, at /admin/analytics/ (namespace "analytics").
urlpatterns = customer_urlpatterns + agent_urlpatterns + chat_urlpatterns
