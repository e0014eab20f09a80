"""Support API: the customer's own tickets, the agent desk, admin ticket categories. One view per
operation; the same services and selectors as the pages."""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.permissions import IsShopAdmin, IsSupportAgent
from eshop.apis import DetailSerializer
from eshop.models import Order, Product
from support.filters import InboxFilterSerializer, inbox_filters_parse
from support.models import Ticket, TicketCategory
from support.models.tickets import TicketStatus
from support.selectors.tickets import (
    support_agents,
    ticket_get_for_agent,
    ticket_get_for_customer,
    ticket_inbox_queryset,
    ticket_list_for_customer,
    tickets_similar_resolved,
)
from support.services.tickets import (
    CORRECTABLE_FIELDS,
    MESSAGE_MAX_CHARS,
    SUBJECT_MAX_CHARS,
    ticket_agent_reply,
    ticket_assign,
    ticket_close_by_customer,
    ticket_correct,
    ticket_create,
    ticket_customer_reply,
    ticket_status_change,
)


def _error(exc: ValidationError, code=status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"detail": " ".join(exc.messages)}, status=code)


# --- output ----------------------------------------------------------------------------------

class MessageOutputSerializer(serializers.Serializer):
    author_kind = serializers.CharField()
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class AgentMessageOutputSerializer(MessageOutputSerializer):
    author = serializers.EmailField(source="author.email", allow_null=True, default=None)
    is_internal = serializers.BooleanField()


class CustomerTicketOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    subject = serializers.CharField()
    status = serializers.CharField()
    order = serializers.CharField(source="order.number", allow_null=True, default=None)
    product = serializers.CharField(source="product.slug", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    last_activity_at = serializers.DateTimeField()


class CustomerTicketDetailOutputSerializer(CustomerTicketOutputSerializer):
    messages = MessageOutputSerializer(many=True, source="public_messages")


class AgentTicketOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    customer = serializers.EmailField(source="customer.email")
    subject = serializers.CharField()
    title = serializers.CharField()
    summary = serializers.CharField()
    status = serializers.CharField()
    category = serializers.CharField(source="category.slug", allow_null=True, default=None)
    category_confidence = serializers.FloatField(allow_null=True)
    category_method = serializers.CharField()
    sentiment = serializers.CharField()
    sentiment_score = serializers.FloatField(allow_null=True)
    urgency = serializers.CharField()
    urgency_reason = serializers.CharField()
    product = serializers.CharField(source="product.slug", allow_null=True, default=None)
    order = serializers.CharField(source="order.number", allow_null=True, default=None)
    language = serializers.CharField()
    agent_fields = serializers.ListField(child=serializers.CharField())
    assignee = serializers.EmailField(source="assignee.email", allow_null=True, default=None)
    ai_status = serializers.CharField()
    ai_attempts = serializers.IntegerField()
    ai_last_error = serializers.CharField(source="ai_error")  # the payload keeps its name from before core.jobs
    created_at = serializers.DateTimeField()
    last_activity_at = serializers.DateTimeField()
    first_response_at = serializers.DateTimeField(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)


class AgentTicketDetailOutputSerializer(AgentTicketOutputSerializer):
    messages = AgentMessageOutputSerializer(many=True)


class TextField(serializers.CharField):
    """Text only: a number or a list is a 400, not silently turned into a string."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def _body_field() -> TextField:
    return TextField(max_length=MESSAGE_MAX_CHARS * 2, trim_whitespace=False,
                     help_text=f"At most {MESSAGE_MAX_CHARS:,} characters after cleaning (control characters are dropped).")


class BodyInputSerializer(serializers.Serializer):
    body = _body_field()


# --- customer --------------------------------------------------------------------------------

def _own_ticket(request, number) -> Ticket:
    ticket = ticket_get_for_customer(user=request.user, number=number)
    if ticket is None:
        raise NotFound("No such support request.")
    return ticket


class TicketCreateApi(APIView):
    """File a support request (optionally about one of your orders, by number, or a product, by slug)."""

    permission_classes = [IsAuthenticated]

    class TicketCreateInputSerializer(serializers.Serializer):
        subject = TextField(max_length=SUBJECT_MAX_CHARS, required=False, default="", allow_blank=True)
        body = _body_field()
        order = serializers.CharField(required=False, allow_blank=True, help_text="One of your order numbers (TH-123456).")
        product = serializers.SlugField(required=False, allow_blank=True)

    @extend_schema(request=TicketCreateInputSerializer, responses={201: CustomerTicketDetailOutputSerializer, 400: DetailSerializer})
    def post(self, request):
        data = self.TicketCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        order = product = None
        if values.get("order"):
            order = Order.objects.filter(user=request.user, number=values["order"].strip().upper()).first()
            if order is None:
                return Response({"order": ["You have no order with this number."]}, status=status.HTTP_400_BAD_REQUEST)
        if values.get("product"):
            product = Product.objects.filter(slug=values["product"], is_active=True).first()
            if product is None:
                return Response({"product": ["No such product."]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            ticket = ticket_create(customer=request.user, subject=values["subject"], body=values["body"], order=order,
                                   product=product, origin="api")
        except ValidationError as exc:
            return _error(exc)
        return Response(CustomerTicketDetailOutputSerializer(_own_ticket(request, ticket.number)).data,
                        status=status.HTTP_201_CREATED)


class TicketListApi(generics.ListAPIView):
    """Your own support requests, most recent activity first, paginated."""

    permission_classes = [IsAuthenticated]
    serializer_class = CustomerTicketOutputSerializer

    def get_queryset(self):
        return ticket_list_for_customer(user=self.request.user).select_related("order", "product")


class TicketDetailApi(APIView):
    """One of your requests with its messages (another customer's number is 404)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: CustomerTicketDetailOutputSerializer, 404: DetailSerializer})
    def get(self, request, number: int):
        return Response(CustomerTicketDetailOutputSerializer(_own_ticket(request, number)).data)


class TicketReplyApi(APIView):
    """Write again on one of your requests (it reopens; a closed one is refused)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=BodyInputSerializer, responses={201: CustomerTicketDetailOutputSerializer, 400: DetailSerializer, 404: DetailSerializer})
    def post(self, request, number: int):
        ticket = _own_ticket(request, number)
        data = BodyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            ticket_customer_reply(ticket=ticket, customer=request.user, body=data.validated_data["body"])
        except ValidationError as exc:
            return _error(exc)
        return Response(CustomerTicketDetailOutputSerializer(_own_ticket(request, number)).data, status=status.HTTP_201_CREATED)


class TicketCloseApi(APIView):
    """Close one of your requests."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: CustomerTicketDetailOutputSerializer, 404: DetailSerializer})
    def post(self, request, number: int):
        ticket_close_by_customer(ticket=_own_ticket(request, number), customer=request.user)
        return Response(CustomerTicketDetailOutputSerializer(_own_ticket(request, number)).data)


# --- agent -----------------------------------------------------------------------------------

def _agent_ticket(number) -> Ticket:
    ticket = ticket_get_for_agent(number=number)
    if ticket is None:
        raise NotFound("No such ticket.")
    return ticket


class AgentTicketListApi(generics.ListAPIView):
    """The inbox: filters, sort, keyword (full-text) or semantic search; paginated."""

    permission_classes = [IsSupportAgent]
    serializer_class = AgentTicketOutputSerializer

    @extend_schema(parameters=[InboxFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return ticket_inbox_queryset(filters=inbox_filters_parse(self.request.query_params, strict=True), user=self.request.user)


class AgentTicketDetailApi(APIView):
    """A ticket with its triage fields, AI status and the whole thread (internal notes included)."""

    permission_classes = [IsSupportAgent]

    @extend_schema(responses={200: AgentTicketDetailOutputSerializer, 404: DetailSerializer})
    def get(self, request, number: int):
        return Response(AgentTicketDetailOutputSerializer(_agent_ticket(number)).data)


class AgentTicketReplyApi(APIView):
    """Reply to the customer (e-mailed) or add an internal note."""

    permission_classes = [IsSupportAgent]

    class AgentReplyInputSerializer(BodyInputSerializer):
        internal = serializers.BooleanField(default=False)

    @extend_schema(request=AgentReplyInputSerializer, responses={201: AgentTicketDetailOutputSerializer, 400: DetailSerializer})
    def post(self, request, number: int):
        ticket = _agent_ticket(number)
        data = self.AgentReplyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            ticket_agent_reply(ticket=ticket, agent=request.user, **data.validated_data)
        except ValidationError as exc:
            return _error(exc)
        return Response(AgentTicketDetailOutputSerializer(_agent_ticket(number)).data, status=status.HTTP_201_CREATED)


class AgentTicketCorrectApi(APIView):
    """Correct one AI field (recorded; never overwritten by a later AI run). `value`: a category
    slug, a sentiment or urgency level, a product id, an order number, or text."""

    permission_classes = [IsSupportAgent]

    class CorrectInputSerializer(serializers.Serializer):
        field = serializers.ChoiceField(choices=CORRECTABLE_FIELDS)
        value = TextField(max_length=2000, allow_blank=True)

    @extend_schema(request=CorrectInputSerializer, responses={200: AgentTicketDetailOutputSerializer, 400: DetailSerializer})
    def post(self, request, number: int):
        ticket = _agent_ticket(number)
        data = self.CorrectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            ticket_correct(ticket=ticket, agent=request.user, **data.validated_data)
        except ValidationError as exc:
            return _error(exc)
        return Response(AgentTicketDetailOutputSerializer(_agent_ticket(number)).data)


class AgentTicketAssignApi(APIView):
    """Assign to a support agent by e-mail, or unassign with null."""

    permission_classes = [IsSupportAgent]

    class AssignInputSerializer(serializers.Serializer):
        assignee = serializers.EmailField(allow_null=True)

    @extend_schema(request=AssignInputSerializer, responses={200: AgentTicketDetailOutputSerializer, 400: DetailSerializer})
    def post(self, request, number: int):
        ticket = _agent_ticket(number)
        data = self.AssignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        email = data.validated_data["assignee"]
        assignee = support_agents().filter(email__iexact=email).first() if email else None
        if email and assignee is None:
            return Response({"detail": "No support agent with that e-mail."}, status=status.HTTP_400_BAD_REQUEST)
        ticket_assign(ticket=ticket, agent=request.user, assignee=assignee)
        return Response(AgentTicketDetailOutputSerializer(_agent_ticket(number)).data)


class AgentTicketStatusApi(APIView):
    """Change the status (resolving e-mails the customer)."""

    permission_classes = [IsSupportAgent]

    class StatusInputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=TicketStatus.values)

    @extend_schema(request=StatusInputSerializer, responses={200: AgentTicketDetailOutputSerializer, 400: DetailSerializer})
    def post(self, request, number: int):
        ticket = _agent_ticket(number)
        data = self.StatusInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket_status_change(ticket=ticket, agent=request.user, status=data.validated_data["status"])
        return Response(AgentTicketDetailOutputSerializer(_agent_ticket(number)).data)


class SimilarTicketOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField(source="ticket.number")
    title = serializers.CharField(source="ticket.display_title")
    category = serializers.CharField(source="ticket.category.slug", allow_null=True, default=None)
    distance = serializers.FloatField()
    resolution = serializers.CharField(help_text="The last agent reply: how it was resolved.")


class AgentTicketSimilarApi(APIView):
    """Resolved tickets nearest by embedding, with how each was resolved."""

    permission_classes = [IsSupportAgent]

    @extend_schema(responses={200: SimilarTicketOutputSerializer(many=True), 404: DetailSerializer})
    def get(self, request, number: int):
        return Response(SimilarTicketOutputSerializer(tickets_similar_resolved(ticket=_agent_ticket(number)), many=True).data)


# --- admin: ticket categories ------------------------------------------------------------------

class TicketCategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketCategory
        fields = ["slug", "name", "description", "is_active"]


class TicketCategoryListCreateApi(generics.ListCreateAPIView):
    """Admin: the ticket categories; a new one is used by the next triage (no code change)."""

    permission_classes = [IsShopAdmin]
    serializer_class = TicketCategorySerializer
    queryset = TicketCategory.objects.order_by("name")


class TicketCategoryDetailApi(generics.RetrieveUpdateDestroyAPIView):
    """Admin: read, edit or delete a category (tickets in a deleted category keep no category;
    deactivating keeps the history)."""

    permission_classes = [IsShopAdmin]
    serializer_class = TicketCategorySerializer
    queryset = TicketCategory.objects.all()
    lookup_field = "slug"
    http_method_names = ["get", "patch", "delete"]
