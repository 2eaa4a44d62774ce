"""The page of one dashboard in the ops console (the admin index shows the first one a user may see)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse

from monitoring.dashboards.registry import DASHBOARDS, dashboards_for


def dashboard_page(request, name: str):
    dashboard = DASHBOARDS.get(name)
    if dashboard is None:
        raise Http404("No such dashboard.")
    if not dashboard.may_view(request.user):
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": f"{dashboard.title} dashboard",
        "dashboard": dashboard,
        "dashboards": dashboards_for(request.user),
    }
    return TemplateResponse(request, "monitoring/dashboard.html", context)
