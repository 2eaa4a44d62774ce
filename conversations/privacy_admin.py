"""The console's side of personal-data rights: export as a JSON download, erase after a confirmation page.

Both are actions of the LINE user list (``conversations.admin.LineUserAdmin``), one user at a time.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.admin import helpers
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.template.response import TemplateResponse

from conversations import privacy
from core.errors import AppError


def _one(modeladmin, request, queryset, what: str):
    users = list(queryset[:2])
    if len(users) != 1:
        modeladmin.message_user(request, f"Select exactly one LINE user to {what}.", messages.WARNING)
        return None
    return users[0]


def export_response(modeladmin, request, queryset):
    line_user = _one(modeladmin, request, queryset, "export")
    if line_user is None:
        return None
    data = privacy.line_user_export(line_user=line_user, actor=request.user, request=request)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="line-user-{line_user.pk}.json"'
    return response


def erase_response(modeladmin, request, queryset):
    line_user = _one(modeladmin, request, queryset, "erase")
    if line_user is None:
        return None
    if "confirm_erase" in request.POST:
        try:
            erasure = privacy.line_user_erase(line_user=line_user, actor=request.user, request=request)
        except AppError as exc:
            modeladmin.message_user(request, f"Not erased: {exc.message}", messages.ERROR)
            return None
        total = sum(sum(counts.values()) for counts in erasure.counts.values())
        modeladmin.message_user(
            request,
            f"LINE user #{line_user.pk} erased ({total} rows deleted or anonymised); now {erasure.replacement}.",
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Erase a LINE user's personal data",
        "opts": modeladmin.model._meta,
        "line_user": line_user,
        "action_name": "erase_personal_data",
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "conversations/erase_personal_data.html", context)
