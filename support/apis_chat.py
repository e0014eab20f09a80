"""API of the chat assistant (DRF, in the OpenAPI schema): ask, follow, retry, rate, list and read
conversations, hand off to a human. The knowledge base API is support/apis_knowledge.py, the agent's
assistant support/apis_assistant.py; an answer's events stream from support/apis_chat_events.py.

The storefront's chat bubble uses these same endpoints (session auth, CSRF token on every POST,
anonymous visitors included: their conversation belongs to their session).
"""

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import CSRFCheck
from rest_framework.exceptions import NotFound, PermissionDenied, Throttled, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.jobs import JobStatus
from core.ratelimit import TooManyStreams, client_ip, rate_limit_exceeded
from eshop.api_fields import ProductRefField
from eshop.models import Product
from support.selectors.chat import chat_turn_get_own, conversation_list_own, conversation_turns
from support.selectors.chat_events import chat_turn_wait, stream_limits
from support.services.chat import (
    ChatError,
    chat_turn_create,
    chat_turn_rate,
    chat_turn_retry,
    conversation_for_request,
    conversation_get_own,
)
from support.services.chat_handoff import chat_handoff


class CsrfAlways(BasePermission):
    """CSRF on every unsafe request that rides on the session cookie, anonymous ones too (DRF checks
    only authenticated sessions). Token-authenticated clients send no cookie and are not affected.
    Also used by the knowledge and assistant APIs."""

    def has_permission(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS") or request.auth is not None:
            return True
        check = CSRFCheck(lambda req: None)
        check.process_request(request._request)
        reason = check.process_view(request._request, None, (), {})
        if reason:
            raise PermissionDenied(f"CSRF failed: {reason.reason_phrase if hasattr(reason, 'reason_phrase') else reason}")
        return True


def _session_key(request) -> str:
    """The anonymous visitor's session (created on the first question: it owns the conversation);
    "" for signed-in and token clients, who own theirs by account (no session row per API call)."""
    if request.user.is_authenticated:
        return request.session.session_key or ""
    if not request.session.session_key:
        request.session.save()
    return request.session.session_key


# --- serializers --------------------------------------------------------------------------------

class SourceSerializer(serializers.Serializer):
    n = serializers.IntegerField()
    kind = serializers.CharField(help_text="policy, manual or order")
    title = serializers.CharField()
    document = serializers.CharField(allow_blank=True)
    heading = serializers.CharField(allow_blank=True)
    page = serializers.IntegerField(allow_null=True, help_text="Manual page, when the source is a manual.")
    url = serializers.CharField()
    excerpt = serializers.CharField()
    chunk_id = serializers.IntegerField(allow_null=True)
    score = serializers.FloatField(allow_null=True)


class TurnSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    conversation = serializers.UUIDField(source="conversation.public_id")
    question = serializers.CharField()
    status = serializers.CharField()
    answer = serializers.CharField()
    abstained = serializers.BooleanField()
    sources = SourceSerializer(many=True)
    rating = serializers.IntegerField(allow_null=True)
    seconds_to_sources = serializers.FloatField(allow_null=True)
    seconds_to_first_token = serializers.FloatField(allow_null=True)
    seconds_total = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()
    events_url = serializers.SerializerMethodField()

    def get_events_url(self, turn) -> str:
        from django.urls import reverse

        return reverse("chat-api-turn-events", kwargs={"turn_id": turn.pk})


# --- chat ---------------------------------------------------------------------------------------

class ChatAskApi(APIView):
    """Ask the assistant. Stream mode (default) answers 202 with the turn and its `events_url`
    (server-sent events: sources, token..., done | failed). JSON mode (signed-in or token clients)
    waits for the answer up to CHAT_JSON_WAIT_SECONDS: 200 with it, else 202 to follow events_url."""

    permission_classes = [AllowAny, CsrfAlways]
    parser_classes = [JSONParser, FormParser]

    class InputSerializer(serializers.Serializer):
        question = serializers.CharField(max_length=20_000, trim_whitespace=False,
                                         help_text="At most 10,000 characters after cleaning.")
        product = ProductRefField(queryset=Product.objects.filter(is_active=True), required=False, allow_null=True,
                                  help_text="The product page the customer is on: its slug or id.")
        conversation = serializers.UUIDField(required=False, allow_null=True, help_text="Continue this conversation (yours).")
        mode = serializers.ChoiceField(choices=["stream", "json"], default="stream")

    @extend_schema(request=InputSerializer, responses={202: TurnSerializer, 200: TurnSerializer, 429: OpenApiResponse(description="Too many questions")})
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["mode"] == "json" and not request.user.is_authenticated:
            raise ValidationError({"mode": ["JSON mode is for signed-in customers and API tokens; use stream mode "
                                            "and follow events_url."]})
        session_key = _session_key(request)
        who = f"user:{request.user.pk}" if request.user.is_authenticated else f"session:{session_key}"
        if (rate_limit_exceeded(key=f"chat:{who}", limit=settings.CHAT_RATE_LIMIT, window_seconds=settings.CHAT_RATE_WINDOW)
                or rate_limit_exceeded(key=f"chat:ip:{client_ip(request)}", limit=settings.CHAT_RATE_LIMIT_PER_IP,
                                       window_seconds=settings.CHAT_RATE_WINDOW)):
            raise Throttled(detail="You are sending questions very fast. Please wait a few minutes and try again.")
        product = data.validated_data.get("product")
        try:
            conversation = conversation_for_request(user=request.user, session_key=session_key,
                                                    public_id=data.validated_data.get("conversation"),
                                                    session_conversation=request.session.get("chat_conversation", ""))
            turn = chat_turn_create(conversation=conversation, question=data.validated_data["question"], product=product)
        except ChatError as exc:
            raise ValidationError({"question": exc.messages}) from None
        if not request.user.is_authenticated:
            request.session["chat_conversation"] = str(conversation.public_id)
        if data.validated_data["mode"] == "json":
            try:
                turn = chat_turn_wait(turn=turn, limits=stream_limits(turn_id=turn.pk, who=who, ip=client_ip(request)),
                                      timeout=settings.CHAT_JSON_WAIT_SECONDS)
            except TooManyStreams:
                pass  # answered below as 202: follow it from events_url
            if turn.status in (JobStatus.DONE, JobStatus.FAILED):
                return Response(TurnSerializer(turn).data, status=status.HTTP_200_OK)
        return Response(TurnSerializer(turn).data, status=status.HTTP_202_ACCEPTED)


def _own_conversation(request, public_id):
    return conversation_get_own(user=request.user, session_key=request.session.session_key or "", public_id=public_id,
                                session_conversation=request.session.get("chat_conversation", ""))


def _own_turn(request, turn_id):
    turn = chat_turn_get_own(turn_id=turn_id, user=request.user, session_key=request.session.session_key or "")
    if turn is None:
        raise NotFound("No such answer.")
    return turn


class ChatTurnRetryApi(APIView):
    """Ask again for a failed answer; stream it from `events_url` as before."""

    permission_classes = [AllowAny, CsrfAlways]

    @extend_schema(request=None, responses={202: TurnSerializer})
    def post(self, request, turn_id):
        try:
            turn = chat_turn_retry(turn=_own_turn(request, turn_id))
        except ChatError as exc:
            raise ValidationError({"detail": exc.messages}) from None
        return Response(TurnSerializer(turn).data, status=status.HTTP_202_ACCEPTED)


class ChatTurnFeedbackApi(APIView):
    """Thumbs up (1) or down (-1) on an answer (a second vote replaces the first)."""

    permission_classes = [AllowAny, CsrfAlways]
    parser_classes = [JSONParser, FormParser]

    class InputSerializer(serializers.Serializer):
        rating = serializers.ChoiceField(choices=[1, -1])

    @extend_schema(request=InputSerializer, responses={200: TurnSerializer})
    def post(self, request, turn_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            turn = chat_turn_rate(turn=_own_turn(request, turn_id), rating=data.validated_data["rating"])
        except ChatError as exc:
            raise ValidationError({"rating": exc.messages}) from None
        return Response(TurnSerializer(turn).data)


class ConversationSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    ticket_number = serializers.IntegerField(source="ticket.number", allow_null=True, default=None)


class ChatConversationListApi(APIView):
    """Your conversations (signed in), or this browser session's (anonymous), newest first."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: ConversationSerializer(many=True)})
    def get(self, request):
        paginator = PageNumberPagination()
        conversations = conversation_list_own(user=request.user, session_key=request.session.session_key or "")
        page = paginator.paginate_queryset(conversations, request, view=self)
        return paginator.get_paginated_response(ConversationSerializer(page, many=True).data)


class ChatConversationDetailApi(APIView):
    """One of your conversations with its turns (questions, answers, sources, ratings)."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: inline_serializer("ConversationDetail", {
        "id": serializers.UUIDField(), "ticket_number": serializers.IntegerField(allow_null=True),
        "turns": TurnSerializer(many=True)})})
    def get(self, request, public_id):
        conversation = _own_conversation(request, public_id)
        if conversation is None:
            raise NotFound("No such conversation.")
        turns = conversation_turns(conversation=conversation).select_related("conversation")
        return Response({"id": conversation.public_id, "ticket_number": conversation.ticket.number if conversation.ticket else None,
                         "turns": TurnSerializer(turns, many=True).data})


class ChatHandoffApi(APIView):
    """Talk to a human: a support ticket with the chat transcript (signed-in customers; idempotent)."""

    permission_classes = [IsAuthenticated, CsrfAlways]
    parser_classes = [JSONParser, FormParser]

    class InputSerializer(serializers.Serializer):
        note = serializers.CharField(required=False, allow_blank=True, max_length=2_000)

    @extend_schema(request=InputSerializer, responses={201: inline_serializer("Handoff", {
        "ticket_number": serializers.IntegerField(), "ticket_url": serializers.CharField()})})
    def post(self, request, public_id):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        conversation = _own_conversation(request, public_id)
        if conversation is None:
            raise NotFound("No such conversation.")
        try:
            ticket = chat_handoff(conversation=conversation, user=request.user, note=data.validated_data.get("note", ""))
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from None
        except (ChatError, DjangoValidationError) as exc:
            raise ValidationError({"detail": exc.messages}) from None
        return Response({"ticket_number": ticket.number, "ticket_url": _ticket_url(ticket)}, status=status.HTTP_201_CREATED)


def _ticket_url(ticket) -> str:
    """The customer's page of the ticket (support desk area); empty where that page does not exist yet."""
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse("support:ticket-detail", kwargs={"number": ticket.number})
    except NoReverseMatch:
        return ""
