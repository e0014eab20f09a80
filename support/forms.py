from django import forms

from eshop.models import Order, Product
from support.services.tickets import MESSAGE_MAX_CHARS, SUBJECT_MAX_CHARS, message_body_clean


class MessageField(forms.CharField):
    """A message body: cleaned and checked by the same rule as the service (one error wording)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 6, "maxlength": MESSAGE_MAX_CHARS}))
        super().__init__(max_length=None, strip=False, **kwargs)
        self.validators = []  # control characters (NUL too) are dropped by message_body_clean, not refused

    def clean(self, value):
        return message_body_clean(super().clean(value) or "")


class TicketCreateForm(forms.Form):
    subject = forms.CharField(label="Subject", max_length=SUBJECT_MAX_CHARS, required=False,
                              help_text="Optional: a few words about your request.")
    order = forms.ModelChoiceField(label="Order (optional)", queryset=Order.objects.none(), required=False,
                                   to_field_name="number", empty_label="No particular order")
    product = forms.ModelChoiceField(label="Product (optional)", queryset=Product.objects.filter(is_active=True).order_by("brand", "model"),
                                     required=False, empty_label="No particular product")
    body = MessageField(label="How can we help?", required=False,
                        help_text=f"Up to {MESSAGE_MAX_CHARS:,} characters. Order numbers look like TH-123456.")

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the customer's own orders can be picked; another customer's number is "not a valid choice".
        self.fields["order"].queryset = Order.objects.filter(user=customer).order_by("-created_at")
        self.fields["order"].label_from_instance = lambda o: f"{o.number} · {o.created_at:%b %-d, %Y} · ${o.total}"
        self.fields["product"].label_from_instance = lambda p: f"{p.brand} {p.model}"


class ReplyForm(forms.Form):
    body = MessageField(label="Your reply", required=False)
