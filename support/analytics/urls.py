"""Admin analytics, mounted at /admin/analytics/ by config/urls.py (before admin.site.urls)."""

from django.contrib import admin
from django.urls import path

from support.analytics import views

app_name = "analytics"

urlpatterns = [
    path("", admin.site.admin_view(views.dashboard), name="dashboard"),
    path("export/<slug:key>.csv", admin.site.admin_view(views.chart_csv), name="chart-csv"),
    path("ask/", admin.site.admin_view(views.ask), name="ask"),
    path("ask/<int:pk>/", admin.site.admin_view(views.question), name="question"),
]
