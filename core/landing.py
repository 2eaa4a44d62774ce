"""The site's front page: where the ops console's "View site" link leads, with the ways in."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET


@require_GET
def landing(request):
    links = [
        ("Ops console", reverse("admin:index"), "Conversations, runtime settings, staff and the audit log."),
        ("API documentation", reverse("api:docs"), "The /api/v1/ endpoints (sign-in required)."),
        ("Liveness", reverse("healthz"), "Answers while the process runs."),
        ("Readiness", reverse("readyz"), "Checks the database, Redis and the broker."),
    ]
    simulator_url = getattr(settings, "LINE_SIMULATOR_URL", None)
    if simulator_url:
        links.append(("LINE simulator", simulator_url, "Chat with the bot as LINE users (local LINE double)."))
    return render(request, "landing.html", {"links": links})


@require_GET
def favicon(request):
    # Browsers ask for /favicon.ico on pages that name no icon (JSON endpoints, for one).
    return redirect(static("core/favicon.ico"))
