"""Support API routes. One section per area."""

from django.urls import path

from support import apis

# --- Tickets: customer and agent API --------------------------------------------------------------
ticket_urlpatterns: list = [
    path("tickets/", apis.TicketListApi.as_view(), name="api-ticket-list"),
    path("tickets/create/", apis.TicketCreateApi.as_view(), name="api-ticket-create"),
    path("tickets/<int:number>/", apis.TicketDetailApi.as_view(), name="api-ticket-detail"),
    path("tickets/<int:number>/reply/", apis.TicketReplyApi.as_view(), name="api-ticket-reply"),
    path("tickets/<int:number>/close/", apis.TicketCloseApi.as_view(), name="api-ticket-close"),
    path("desk/tickets/", apis.AgentTicketListApi.as_view(), name="api-desk-ticket-list"),
    path("desk/tickets/<int:number>/", apis.AgentTicketDetailApi.as_view(), name="api-desk-ticket-detail"),
    path("desk/tickets/<int:number>/reply/", apis.AgentTicketReplyApi.as_view(), name="api-desk-ticket-reply"),
    path("desk/tickets/<int:number>/correct/", apis.AgentTicketCorrectApi.as_view(), name="api-desk-ticket-correct"),
    path("desk/tickets/<int:number>/assign/", apis.AgentTicketAssignApi.as_view(), name="api-desk-ticket-assign"),
    path("desk/tickets/<int:number>/status/", apis.AgentTicketStatusApi.as_view(), name="api-desk-ticket-status"),
    path("desk/tickets/<int:number>/similar/", apis.AgentTicketSimilarApi.as_view(), name="api-desk-ticket-similar"),
    path("ticket-categories/", apis.TicketCategoryListCreateApi.as_view(), name="api-ticket-category-list"),
    path("ticket-categories/<slug:slug>/", apis.TicketCategoryDetailApi.as_view(), name="api-ticket-category-detail"),
]

# --- Knowledge base and chat ----------------------------------------------------------------------
chat_urlpatterns: list = []

urlpatterns = ticket_urlpatterns + chat_urlpatterns
