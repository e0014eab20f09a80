"""API of the agent's assistant on a ticket page (DRF, in the OpenAPI schema): its answers are chat
turns, streamed from the same events endpoint as the chat's."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import IsSupportAgent
from support.apis_chat import CsrfAlways, TurnSerializer
from support.models import Ticket
from support.services.agent_assistant import agent_assistant_ask
from support.services.chat import ChatError


class AgentAssistantApi(APIView):
    """Support agents: ask the knowledge base about a ticket (`manual`: what the manuals and policies
    say; `draft`: an answer to use as the reply). Streams like a chat answer, from `events_url`."""

    permission_classes = [IsSupportAgent, CsrfAlways]
    parser_classes = [JSONParser, FormParser]

    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(choices=["manual", "draft"])

    @extend_schema(request=InputSerializer, responses={202: TurnSerializer})
    def post(self, request, number):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = get_object_or_404(Ticket, number=number)
        try:
            turn = agent_assistant_ask(ticket=ticket, agent=request.user, action=data.validated_data["action"])
        except ChatError as exc:
            raise ValidationError({"detail": exc.messages}) from None
        return Response(TurnSerializer(turn).data, status=status.HTTP_202_ACCEPTED)
