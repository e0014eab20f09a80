"""The analytics pages in Django admin: the dashboard, CSV exports and ask-the-data.

Each view is wrapped by admin.site.admin_view (active staff only, else the admin login) and then
checks a Django permission (superusers have them all): viewing needs
support.view_analytics_dashboard, asking needs support.ask_data.
"""

import csv

from django.contrib import admin
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from core.permissions import has_perms, require_perms
from core.ratelimit import rate_limit_exceeded
from support.analytics.ask import AskError, data_question_ask
from support.analytics.charts import CHARTS, CHARTS_BY_KEY, chart_build, result_chart
from support.analytics.forms import QuestionForm, period_from
from support.analytics.schema import VIEWS
from support.models import DataQuestion

VIEW_PERMISSION = "support.view_analytics_dashboard"
ASK_PERMISSION = "support.ask_data"
ASKS_PER_MINUTE = 10


def analytics_views() -> list[tuple[str, str]]:
    return [(view, ", ".join(c for c in columns if c != "_")) for view, columns in VIEWS.items()]


def _require(request, permission: str) -> None:
    require_perms(request.user, permission)


def dashboard(request):
    _require(request, VIEW_PERMISSION)
    return _dashboard_response(request, question_form=QuestionForm())


def _dashboard_response(request, *, question_form, status: int = 200):
    form, period = period_from(request.GET)
    context = {
        **admin.site.each_context(request),
        "title": "Support analytics",
        "form": form,
        "period": period,
        "charts": [chart_build(spec, period=period) for spec in CHARTS],
        "can_ask": has_perms(request.user, ASK_PERMISSION),
        "question_form": question_form,
        "analytics_views": analytics_views(),
    }
    return TemplateResponse(request, "admin/support/analytics/dashboard.html", context, status=status)


def chart_csv(request, key: str):
    _require(request, VIEW_PERMISSION)
    spec = CHARTS_BY_KEY.get(key)
    if spec is None:
        raise Http404("No such chart.")
    _, period = period_from(request.GET)
    chart = chart_build(spec, period=period)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{key}_{period.start}_{period.end}.csv"'
    writer = csv.writer(response)
    writer.writerow(spec.columns)
    writer.writerows(chart.rows)
    return response


def ask(request):
    """POST a question: stored and queued; redirects to its page, which polls for the answer."""
    _require(request, ASK_PERMISSION)
    if request.method != "POST":
        return redirect("analytics:dashboard")
    form = QuestionForm(request.POST)
    if form.is_valid():
        if rate_limit_exceeded(key=f"ask-data:{request.user.pk}", limit=ASKS_PER_MINUTE, window_seconds=60):
            form.add_error("question", f"You can ask at most {ASKS_PER_MINUTE} questions a minute; wait a moment.")
        else:
            try:
                asked = data_question_ask(user=request.user, question=form.cleaned_data["question"])
            except AskError as exc:
                form.add_error("question", str(exc))
            else:
                return redirect("analytics:question", pk=asked.pk)
    return _dashboard_response(request, question_form=form, status=400)


def question(request, pk: int):
    """A question's page: question, SQL, table, chart or the reason it failed. ?fragment=1: the part that polls."""
    _require(request, ASK_PERMISSION)
    asked = DataQuestion.objects.filter(pk=pk).select_related("asked_by").first()
    if asked is None or (asked.asked_by_id != request.user.pk and not has_perms(request.user, "support.view_dataquestion")):
        raise Http404("No such question.")
    context = {"asked": asked, "result_chart": result_chart(columns=asked.columns, rows=asked.rows) if asked.rows else ""}
    if request.GET.get("fragment"):
        return TemplateResponse(request, "admin/support/analytics/_answer.html", context)
    context.update(admin.site.each_context(request), title="Ask the data", question_form=QuestionForm(initial={"question": asked.question}),
                   analytics_views=analytics_views())
    return TemplateResponse(request, "admin/support/analytics/question.html", context)
