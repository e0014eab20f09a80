"""The analytics pages in Django admin: the dashboard, CSV exports and ask-the-data.

Each view is wrapped by admin.site.admin_view (active staff only, else the admin login) and then
checks a Django permission (superusers have them all): viewing needs
support.view_analytics_dashboard, asking needs support.ask_data.
"""

import csv

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse

from support.analytics.charts import CHARTS, CHARTS_BY_KEY, chart_build
from support.analytics.forms import QuestionForm, period_from

VIEW_PERMISSION = "support.view_analytics_dashboard"
ASK_PERMISSION = "support.ask_data"


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def dashboard(request):
    _require(request, VIEW_PERMISSION)
    form, period = period_from(request.GET)
    charts = [chart_build(spec, period=period) for spec in CHARTS]
    context = {
        **admin.site.each_context(request),
        "title": "Support analytics",
        "form": form,
        "period": period,
        "charts": charts,
        "can_ask": request.user.has_perm(ASK_PERMISSION),
        "question_form": QuestionForm(),
    }
    return TemplateResponse(request, "admin/support/analytics/dashboard.html", context)


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
