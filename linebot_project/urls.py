from django.contrib import admin
from django.urls import include, path

from monitoring import health, metrics

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("", include("conversations.urls")),
    path("", include("richmessages.urls")),
    path("api/v1/", include("linebot_project.api_urls")),
]
