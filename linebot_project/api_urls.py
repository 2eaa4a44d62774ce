"""Everything under /api/v1/. Each app adds one include line for its own ``urls`` module."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from accounts.api import DocsView

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
    path("", include("accounts.urls")),
    path("", include("conversations.api_urls")),
    path("", include("richmessages.api_urls")),
    path("", include("analytics.api_urls")),
]
