"""All API routes, one include per app (each app keeps its own api_urls)."""

from django.urls import include, path

urlpatterns = [
    path("", include("eshop.api_urls")),
    path("support/", include("support.api_urls")),
]
