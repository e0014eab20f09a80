"""Support API routes. One section per area."""

from django.urls import path

from support import apis, apis_assistant, apis_chat, apis_chat_events, apis_knowledge

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
chat_urlpatterns: list = [
    path("chat/ask/", apis_chat.ChatAskApi.as_view(), name="chat-api-ask"),
    path("chat/turns/<int:turn_id>/events/", apis_chat_events.chat_turn_events_api, name="chat-api-turn-events"),
    path("chat/turns/<int:turn_id>/retry/", apis_chat.ChatTurnRetryApi.as_view(), name="chat-api-turn-retry"),
    path("chat/turns/<int:turn_id>/feedback/", apis_chat.ChatTurnFeedbackApi.as_view(), name="chat-api-turn-feedback"),
    path("chat/conversations/", apis_chat.ChatConversationListApi.as_view(), name="chat-api-conversations"),
    path("chat/conversations/<uuid:public_id>/", apis_chat.ChatConversationDetailApi.as_view(), name="chat-api-conversation"),
    path("chat/conversations/<uuid:public_id>/handoff/", apis_chat.ChatHandoffApi.as_view(), name="chat-api-handoff"),
    path("agent/tickets/<int:number>/assistant/", apis_assistant.AgentAssistantApi.as_view(), name="agent-api-assistant"),
    path("knowledge/documents/", apis_knowledge.KnowledgeDocumentListApi.as_view(), name="knowledge-api-documents"),
    path("knowledge/documents/<int:document_id>/", apis_knowledge.KnowledgeDocumentDetailApi.as_view(), name="knowledge-api-document"),
]

urlpatterns = ticket_urlpatterns + chat_urlpatterns
