from django.contrib import admin
from django.urls import include, path, re_path

from core import landing
from core.api import not_found
from monitoring import health, metrics
from monitoring.dashboards.views import dashboard_page
from monitoring.query_stats_views import query_stats_page

urlpatterns = [
    path("", landing.landing, name="landing"),
    path("favicon.ico", landing.favicon, name="favicon"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    # Behind the ops console's sign-in and MFA, like every admin page.
    path("admin/dashboards/<slug:name>/", admin.site.admin_view(dashboard_page), name="dashboard"),
    path("admin/queries/", admin.site.admin_view(query_stats_page), name="query_stats"),
    path("admin/", admin.site.urls),
    path("", include("conversations.urls")),
    path("", include("richmessages.urls")),
    path("", include("analytics.urls")),
    path("api/v1/", include("linebot_project.api_urls")),
    re_path(r"^api/", not_found),
]
