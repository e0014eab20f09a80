"""Customer support pages (Contact support, My support requests) and the agent workspace. Thin:
services write, selectors read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from core.ids import parse_id
from core.jobs import JobStatus
from core.permissions import agent_required
from eshop.models import Product
from eshop.selectors.orders import order_list_for_user
from support.filters import inbox_filters_parse
from support.forms import ReplyForm, TicketCreateForm
from support.models import Ticket, TicketCategory
from support.models.tickets import Sentiment, TicketStatus, Urgency
from support.selectors.tickets import (
    INBOX_SORTS,
    support_agents,
    ticket_get_for_agent,
    ticket_get_for_customer,
    ticket_inbox_page,
    ticket_inbox_state,
    ticket_page_for_customer,
    ticket_status_counts,
    tickets_similar_resolved,
    triage_progress,
)
from support.services.tickets import (
    MESSAGE_MAX_CHARS,
    ticket_agent_reply,
    ticket_assign,
    ticket_close_by_customer,
    ticket_correct,
    ticket_create,
    ticket_customer_reply,
    ticket_status_change,
)
from support.services.triage import ticket_triage_request


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


# --- customer ----------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def ticket_new(request):
    initial = {"order": request.GET.get("order", ""), "product": request.GET.get("product", "")}
    form = TicketCreateForm(request.POST or None, customer=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = ticket_create(customer=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, _errors(exc))
        else:
            messages.success(request, f"Thanks, we received your request #{ticket.number}. We usually answer within a day.")
            return redirect("support:ticket-detail", number=ticket.number)
    return render(request, "support/ticket_new.html", {"form": form})


@login_required
def ticket_list(request):
    page = ticket_page_for_customer(user=request.user, page=request.GET.get("page"))
    return render(request, "support/ticket_list.html", {"page": page, "tickets": page.object_list})


def _own_ticket_or_404(request, number):
    """The signed-in customer's ticket; anyone else's is a 404 (never reveals that it exists)."""
    ticket = ticket_get_for_customer(user=request.user, number=number)
    if ticket is None:
        raise Http404("No such support request.")
    return ticket


@login_required
@require_http_methods(["GET", "POST"])
def ticket_detail(request, number):
    ticket = _own_ticket_or_404(request, number)
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket_customer_reply(ticket=ticket, customer=request.user, body=form.cleaned_data["body"])
        except ValidationError as exc:
            form.add_error(None, _errors(exc))
        else:
            messages.success(request, "Your reply was sent.")
            return redirect("support:ticket-detail", number=ticket.number)
    return render(request, "support/ticket_detail.html", {"ticket": ticket, "form": form})


@login_required
@require_POST
def ticket_close(request, number):
    ticket = _own_ticket_or_404(request, number)
    ticket_close_by_customer(ticket=ticket, customer=request.user)
    messages.success(request, f"Request #{ticket.number} is closed. Thanks for letting us know.")
    return redirect("support:ticket-detail", number=ticket.number)


# --- agent workspace ---------------------------------------------------------------------------



@agent_required
def desk_inbox(request):
    filters = inbox_filters_parse(request.GET, strict=False)
    page = ticket_inbox_page(filters=filters, user=request.user, page=request.GET.get("page"))
    tab_query = request.GET.copy()
    tab_query.pop("page", None)
    tabs = []
    counts = ticket_status_counts()
    for value, label in [*TicketStatus.choices, ("all", "All")]:
        tab_query["status"] = value
        tabs.append({"value": value, "label": label, "count": counts[value], "query": tab_query.urlencode()})
    return render(request, "support/agent/inbox.html", {
        "page": page, "tickets": page.object_list, "filters": filters, "tabs": tabs, "sorts": INBOX_SORTS,
        "categories": TicketCategory.objects.order_by("name"), "sentiments": Sentiment.choices,
        "urgencies": Urgency.choices, "ai_statuses": JobStatus.choices, "agents": support_agents(),
        "products": Product.objects.filter(tickets__isnull=False).distinct().order_by("brand", "model"),
        "progress": triage_progress(), "state": ticket_inbox_state(),
    })


@agent_required
def desk_inbox_state(request):
    """A small JSON fingerprint polled by the inbox every few seconds: it reloads the list when it changes."""
    return JsonResponse(ticket_inbox_state())


def _agent_ticket_or_404(number) -> Ticket:
    ticket = ticket_get_for_agent(number=number)
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


@agent_required
def desk_ticket(request, number):
    ticket = _agent_ticket_or_404(number)
    orders = list(order_list_for_user(user=ticket.customer)[:10])
    return render(request, "support/agent/ticket.html", {
        "ticket": ticket, "thread": ticket.messages.all(), "similar": tickets_similar_resolved(ticket=ticket),
        "orders": orders, "agents": support_agents(),
        "category_choices": TicketCategory.objects.filter(is_active=True).order_by("name").values_list("slug", "name"),
        "sentiments": Sentiment.choices, "urgencies": Urgency.choices, "statuses": TicketStatus.choices,
        "product_choices": [(p.pk, f"{p.brand} {p.model}") for p in
                            Product.objects.filter(is_active=True).only("pk", "brand", "model").order_by("brand", "model")],
        "order_choices": [(o.number, o.number) for o in orders],
        "form": ReplyForm(initial={"body": request.session.pop("desk_draft", "")}), "corrections": ticket.corrections.all()[:20],
    })


@agent_required
def desk_ticket_state(request, number):
    """Polled by the ticket page while triage is pending/running: it reloads when the AI is done."""
    ticket = _agent_ticket_or_404(number)
    return JsonResponse({"ai_status": ticket.ai_status, "updated_at": ticket.updated_at.isoformat()})


def _back_to_ticket(ticket):
    return redirect("support:desk-ticket", number=ticket.number)


@agent_required
@require_POST
def desk_ticket_reply(request, number):
    ticket = _agent_ticket_or_404(number)
    form = ReplyForm(request.POST)
    internal = request.POST.get("internal") == "1"
    try:
        if not form.is_valid():
            raise ValidationError(form.errors["body"])
        ticket_agent_reply(ticket=ticket, agent=request.user, body=form.cleaned_data["body"], internal=internal)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        request.session["desk_draft"] = request.POST.get("body", "")[:MESSAGE_MAX_CHARS * 2]  # nothing typed is lost
    else:
        messages.success(request, "Internal note added." if internal else "Reply sent to the customer.")
    return _back_to_ticket(ticket)


@agent_required
@require_POST
def desk_ticket_update(request, number):
    """Status, assignee, or a correction of one AI field (one form each on the page)."""
    ticket = _agent_ticket_or_404(number)
    action = request.POST.get("action")
    try:
        if action == "status":
            ticket_status_change(ticket=ticket, agent=request.user, status=request.POST.get("status", ""))
            messages.success(request, f"Status set to {ticket.get_status_display()}.")
        elif action == "assign":
            assignee_id = request.POST.get("assignee", "")
            assignee = support_agents().filter(pk=parse_id(assignee_id)).first() if parse_id(assignee_id) is not None else None
            if assignee_id and assignee is None:
                raise ValidationError("Tickets can only be assigned to support agents.")
            ticket_assign(ticket=ticket, agent=request.user, assignee=assignee)
            messages.success(request, f"Assigned to {assignee.email}." if assignee else "Unassigned.")
        elif action == "correct":
            field = request.POST.get("field", "")
            correction = ticket_correct(ticket=ticket, agent=request.user, field=field, value=request.POST.get("value", ""))
            messages.success(request, f"{field.capitalize()} corrected." if correction else "Nothing changed.")
        elif action == "retriage":
            ticket_triage_request(ticket, force=True)
            messages.success(request, "Triage requested again.")
        else:
            raise ValidationError("Unknown action.")
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    return _back_to_ticket(ticket)
