from django.contrib import admin
from django.urls import include, path, re_path

from core.api import not_found
from monitoring import health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("", include("conversations.urls")),
    path("api/v1/", include("linebot_project.api_urls")),
    re_path(r"^api/", not_found),
]
