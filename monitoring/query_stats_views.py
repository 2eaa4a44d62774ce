"""The ops console's page of the database's top queries (``/admin/queries/``)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from monitoring.query_stats import ORDERS, top_queries

PERMISSION = "monitoring.view_query_statistics"


def query_stats_page(request):
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
    order = request.GET.get("order", "total")
    if order not in ORDERS:
        order = "total"
    context = {
        **admin.site.each_context(request),
        "title": "Top database queries",
        "stats": top_queries(order=order),
        "order": order,
        "orders": list(ORDERS),
    }
    return TemplateResponse(request, "monitoring/query_stats.html", context)
