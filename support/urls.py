"""Storefront and staff pages of the support app. One section per area, so areas grow independently."""

from django.urls import path

from support import views_chat

app_name = "support"

# --- Customer support pages ("Contact support", "My support requests"): tickets --------------------
customer_urlpatterns: list = []

# --- Agent workspace (staff) ----------------------------------------------------------------------
agent_urlpatterns: list = []

# --- Chat assistant and knowledge base --------------------------------------------------------------
chat_urlpatterns: list = [
    path("help/", views_chat.knowledge_index, name="kb-index"),
    path("help/<slug:slug>/", views_chat.knowledge_document, name="kb-document"),
]

# --- Admin analytics (mounted under /admin/ by config/urls.py) --------------------------------------
urlpatterns = customer_urlpatterns + agent_urlpatterns + chat_urlpatterns
