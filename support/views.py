"""Customer support pages (Contact support, My support requests) and the agent workspace. Thin:
services write, selectors read."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from support.forms import ReplyForm, TicketCreateForm
from support.selectors.tickets import ticket_get_for_customer, ticket_page_for_customer
from support.services.tickets import ticket_close_by_customer, ticket_create, ticket_customer_reply


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
