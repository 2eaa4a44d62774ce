"""What a locked-out client sees (django-axes ``AXES_LOCKOUT_CALLABLE``)."""

from __future__ import annotations

from axes.helpers import get_cool_off
from django.http import JsonResponse
from django.shortcuts import render

from core.api import error_body

STATUS = 429


def lockout_response(request, original_response=None, credentials=None):
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else None
    if request.path.startswith("/api/"):
        body = error_body(code="locked_out", message="Too many failed sign-ins; try again later.")
        response = JsonResponse(body, status=STATUS)
    else:
        minutes = (seconds + 59) // 60 if seconds else None
        response = render(request, "accounts/lockout.html", {"cooloff_minutes": minutes}, status=STATUS)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response
