from django.contrib import admin
from django.urls import include, path, re_path

from core import landing
from core.api import not_found
from monitoring import health, metrics

urlpatterns = [
    path("", landing.landing, name="landing"),
    path("favicon.ico", landing.favicon, name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("", include("conversations.urls")),
    path("", include("richmessages.urls")),
    path("api/v1/", include("linebot_project.api_urls")),
    re_path(r"^api/", not_found),
]
