"""Support API routes. One section per area."""

from django.urls import path

from support import apis_chat

# --- Tickets: customer and agent API --------------------------------------------------------------
ticket_urlpatterns: list = []

# --- Knowledge base and chat ----------------------------------------------------------------------
chat_urlpatterns: list = [
    path("chat/ask/", apis_chat.ChatAskApi.as_view(), name="chat-api-ask"),
    path("chat/turns/<int:turn_id>/events/", apis_chat.ChatTurnEventsApi.as_view(), name="chat-api-turn-events"),
    path("chat/turns/<int:turn_id>/retry/", apis_chat.ChatTurnRetryApi.as_view(), name="chat-api-turn-retry"),
    path("chat/turns/<int:turn_id>/feedback/", apis_chat.ChatTurnFeedbackApi.as_view(), name="chat-api-turn-feedback"),
    path("chat/conversations/", apis_chat.ChatConversationListApi.as_view(), name="chat-api-conversations"),
    path("chat/conversations/<uuid:public_id>/", apis_chat.ChatConversationDetailApi.as_view(), name="chat-api-conversation"),
    path("chat/conversations/<uuid:public_id>/handoff/", apis_chat.ChatHandoffApi.as_view(), name="chat-api-handoff"),
    path("agent/tickets/<int:number>/assistant/", apis_chat.AgentAssistantApi.as_view(), name="agent-api-assistant"),
    path("knowledge/documents/", apis_chat.KnowledgeDocumentListApi.as_view(), name="knowledge-api-documents"),
    path("knowledge/documents/<int:document_id>/", apis_chat.KnowledgeDocumentDetailApi.as_view(), name="knowledge-api-document"),
]

urlpatterns = ticket_urlpatterns + chat_urlpatterns
