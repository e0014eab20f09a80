"""The agent inbox's filters, parsed in one place for the desk page and the desk API."""

from rest_framework import serializers

from core.jobs import JobStatus
from eshop.api_fields import ProductRefField
from eshop.models import Product
from support.models.tickets import Sentiment, TicketStatus, Urgency
from support.selectors.tickets import INBOX_SORTS, SEARCH_QUERY_MAX_LENGTH, InboxFilters


class InboxFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[*TicketStatus.values, "all"], default="open")
    category = serializers.SlugField(required=False, default="", allow_blank=True, help_text="Category slug.")
    sentiment = serializers.ChoiceField(choices=Sentiment.values, required=False, default="", allow_blank=True)
    urgency = serializers.ChoiceField(choices=Urgency.values, required=False, default="", allow_blank=True)
    assignee = serializers.RegexField(r"\A(me|none|[0-9]{1,18})\Z", required=False, default="", allow_blank=True,
                                      help_text="me, none or a user id.")
    product = ProductRefField(queryset=Product.objects.all(), required=False, allow_null=True)
    ai = serializers.ChoiceField(choices=JobStatus.values, required=False, default="", allow_blank=True)
    q = serializers.CharField(max_length=SEARCH_QUERY_MAX_LENGTH, required=False, default="", allow_blank=True)
    mode = serializers.ChoiceField(choices=["keyword", "semantic"], default="keyword")
    sort = serializers.ChoiceField(choices=list(INBOX_SORTS), default="-activity")


def inbox_filters_parse(query, *, strict: bool) -> InboxFilters:
    """The inbox view from a query string (a QueryDict or dict).

    strict (the API): a bad value raises DRF's ValidationError (a 400 naming the field). Not strict
    (the page): a bad value is dropped for its default and an over-long search is cut, so an old
    bookmark never errors."""
    data = {name: query.get(name) for name in InboxFilterSerializer().fields if query.get(name) not in (None, "")}
    if not strict and "q" in data:
        data["q"] = data["q"][:SEARCH_QUERY_MAX_LENGTH]
    serializer = InboxFilterSerializer(data=data)
    if strict:
        serializer.is_valid(raise_exception=True)
    while not serializer.is_valid() and set(serializer.errors) & set(data):
        data = {name: value for name, value in data.items() if name not in serializer.errors}
        serializer = InboxFilterSerializer(data=data)
    values = dict(serializer.validated_data)
    product = values.pop("product", None)
    return InboxFilters(**values, product=str(product.pk) if product else "")
