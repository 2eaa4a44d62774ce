"""The live chat page of one LINE user in the ops console: watch, take over, answer, hand back.

Reached from the user's admin page (``admin:conversations_lineuser_chat``).  Only those who may take
over (Operators, Administrators) open it; others get 403.  The page is drawn by ``chat.js`` from the
items of :mod:`conversations.transcripts` and kept current over ``/ws/conversations/<id>/``; the
actions are plain forms (CSRF, audit) that come back to the page.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from conversations import takeovers, tunables
from conversations.line_messages import MAX_UTF16_UNITS
from conversations.live import chat_update_text
from conversations.models import LineUser, Message
from conversations.transcripts import chat_items, takeover_state
from core.errors import AppError, LineApiError


class OperatorMessageForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Answer as the operator…"}),
        strip=False,
        max_length=MAX_UTF16_UNITS,
    )


def _line_user(request, line_user_id: int) -> LineUser:
    if not takeovers.may_take_over(request.user):
        raise PermissionDenied
    return get_object_or_404(LineUser, pk=line_user_id)


def _back(line_user: LineUser):
    return redirect(reverse("admin:conversations_lineuser_chat", args=[line_user.pk]))


def chat_page(request, line_user_id: int, *, model_admin):
    line_user = _line_user(request, line_user_id)
    # Closes a takeover past its time, so the page never shows a pause that no longer holds.
    takeover = takeovers.takeover_current(line_user=line_user)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Live chat with {line_user}",
        "opts": model_admin.model._meta,
        "line_user": line_user,
        "takeover": takeover,
        "pause_minutes": tunables.takeover_pause_minutes(),
        "form": OperatorMessageForm(),
        "chat": {"items": chat_items(line_user_id=line_user.pk), "takeover": takeover_state(line_user_id=line_user.pk)},
    }
    return TemplateResponse(request, "conversations/chat.html", context)


def chat_json(request, line_user_id: int):
    """The chat as the socket would send it, for a page that (re)connects."""
    line_user = _line_user(request, line_user_id)
    takeovers.takeover_current(line_user=line_user)
    return HttpResponse(chat_update_text(line_user.pk, None, None), content_type="application/json")


@require_POST
def chat_take_over(request, line_user_id: int):
    line_user = _line_user(request, line_user_id)
    takeover = takeovers.takeover_start(line_user=line_user, actor=request.user, request=request)
    messages.success(
        request, f"You took over: the bot is paused for {line_user} until {takeover.expires_at:%H:%M} UTC."
    )
    return _back(line_user)


@require_POST
def chat_send(request, line_user_id: int):
    line_user = _line_user(request, line_user_id)
    form = OperatorMessageForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Not sent: " + " ".join(form.errors.get("text", ["the text is not valid."])))
        return _back(line_user)
    try:
        takeovers.operator_message_send(
            line_user=line_user, text=form.cleaned_data["text"], actor=request.user, request=request
        )
    except LineApiError as exc:
        messages.error(request, f"LINE did not confirm the message ({exc.message}). It is kept: send it again.")
    except AppError as exc:
        messages.error(request, f"Not sent: {exc.message}")
    return _back(line_user)


@require_POST
def chat_resend(request, line_user_id: int, message_id: int):
    line_user = _line_user(request, line_user_id)
    message = get_object_or_404(Message, pk=message_id, line_user=line_user, takeover__isnull=False)
    try:
        takeovers.operator_message_resend(message=message, actor=request.user, request=request)
    except AppError as exc:
        messages.error(request, f"Not sent: {exc.message}")
    return _back(line_user)


@require_POST
def chat_hand_back(request, line_user_id: int):
    line_user = _line_user(request, line_user_id)
    try:
        takeovers.takeover_end(line_user=line_user, actor=request.user, request=request)
    except AppError as exc:
        messages.warning(request, exc.message)
    else:
        messages.success(request, f"Handed back: the bot answers {line_user} again.")
    return _back(line_user)


def chat_urls(model_admin) -> list:
    site = model_admin.admin_site

    def page(request, line_user_id: int):
        return chat_page(request, line_user_id, model_admin=model_admin)

    return [
        path("<int:line_user_id>/chat/", site.admin_view(page), name="conversations_lineuser_chat"),
        path("<int:line_user_id>/chat/items/", site.admin_view(chat_json), name="conversations_lineuser_chat_items"),
        path(
            "<int:line_user_id>/chat/take-over/",
            site.admin_view(chat_take_over),
            name="conversations_lineuser_chat_take_over",
        ),
        path("<int:line_user_id>/chat/send/", site.admin_view(chat_send), name="conversations_lineuser_chat_send"),
        path(
            "<int:line_user_id>/chat/messages/<int:message_id>/resend/",
            site.admin_view(chat_resend),
            name="conversations_lineuser_chat_resend",
        ),
        path(
            "<int:line_user_id>/chat/hand-back/",
            site.admin_view(chat_hand_back),
            name="conversations_lineuser_chat_hand_back",
        ),
    ]
