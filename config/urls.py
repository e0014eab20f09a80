from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.views import healthz
from eshop.views_login import RateLimitedAdminLoginView

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/analytics/", include("support.analytics.urls")),
    path("admin/login/", RateLimitedAdminLoginView.as_view(), name="admin-login"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("core.api_urls")),
    path("support/", include("support.urls")),
    path("", include("eshop.urls")),
]
