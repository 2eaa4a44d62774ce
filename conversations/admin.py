import textwrap

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from conversations import privacy, privacy_admin, sent_images, staff_messages, takeovers
from conversations.chat_admin import chat_urls
from conversations.line_messages import MAX_UTF16_UNITS
from conversations.models import Conversation, LineUser, Message, Takeover, WebhookEvent, WebhookEventConflict
from core.errors import AppError, ValidationError
from core.large_table_admin import LargeTableAdmin, fixed_values_filter
from core.readonly_admin import ReadOnlyAdmin, ReadOnlyInline


@admin.register(LineUser)
class LineUserAdmin(admin.ModelAdmin):
    list_display = ["line_user_id", "display_name", "language", "status", "first_seen_at", "last_seen_at"]
    list_filter = ["status", "language", "language_chosen"]
    search_fields = ["line_user_id", "display_name", "conversations__messages__correlation_id"]
    readonly_fields = ["live_chat", "line_user_id", "first_seen_at", "last_seen_at", "picture_url", "status_message"]
    actions = ["send_test_message", "export_personal_data", "erase_personal_data"]

    def has_add_permission(self, request):
        return False

    def get_urls(self):
        return [*chat_urls(self), *super().get_urls()]

    @admin.display(description="live chat")
    def live_chat(self, obj):
        if obj.pk is None:
            return "-"
        url = reverse("admin:conversations_lineuser_chat", args=[obj.pk])
        return format_html('<a class="button" href="{}">Open the live chat</a>', url)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        # Only those who may take over see the way in to the live chat.
        return fields if takeovers.may_take_over(request.user) else [f for f in fields if f != "live_chat"]

    def has_export_personal_data_permission(self, request):
        return request.user.has_perm(privacy.EXPORT_PERMISSION)

    def has_erase_personal_data_permission(self, request):
        return request.user.has_perm(privacy.ERASE_PERMISSION)

    @admin.action(description="Export personal data (JSON)", permissions=["export_personal_data"])
    def export_personal_data(self, request, queryset):
        return privacy_admin.export_response(self, request, queryset)

    @admin.action(description="Erase personal data", permissions=["erase_personal_data"])
    def erase_personal_data(self, request, queryset):
        return privacy_admin.erase_response(self, request, queryset)

    def has_send_test_message_permission(self, request):
        return request.user.has_perm(staff_messages.PERMISSION)

    @admin.action(description="Send a test message", permissions=["send_test_message"])
    def send_test_message(self, request, queryset):
        users = list(queryset[:2])
        if len(users) != 1:
            self.message_user(request, "Select exactly one LINE user to send a test message to.", messages.WARNING)
            return None
        line_user = users[0]
        form = TestMessageForm(request.POST if "send" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                sent = staff_messages.staff_message_send(
                    line_user=line_user, text=form.cleaned_data["text"], actor=request.user, request=request
                )
            except ValidationError as exc:
                form.add_error("text", exc.message)
            except AppError as exc:
                self.message_user(request, f"Not sent: {exc.message}", messages.ERROR)
                return None
            else:
                self.message_user(request, f"Test message sent to {line_user} (message {sent.message.pk}).")
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Send a test message",
            "opts": self.model._meta,
            "line_user": line_user,
            "form": form,
            "action_name": "send_test_message",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "conversations/send_test_message.html", context)


class TestMessageForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        strip=False,
        max_length=MAX_UTF16_UNITS,
        help_text=f"Sent as one text message; at most {MAX_UTF16_UNITS} UTF-16 units.",
    )


def _when(message: Message) -> str:
    return f"{message.created_at:%Y-%m-%d %H:%M:%S}"


def _speaker(message: Message) -> str:
    if message.role == Message.Role.ASSISTANT and message.takeover_id:
        return f"operator {message.sent_by or ''} (takeover)".replace("  ", " ")
    if message.role == Message.Role.ASSISTANT:
        return f"bot (test message by {message.sent_by})" if message.sent_by_id else "bot"
    return str(message.line_user) if message.line_user_id else "user"


def _tokens(message: Message) -> str:
    """Prompt + completion tokens, as the model counted them."""
    if not message.total_tokens:
        return "-"
    return f"{message.prompt_tokens} + {message.completion_tokens}"


def _picture(message: Message, *, thumbnail: bool):
    if sent_images.line_message_id(message.media_ref) is None:
        return ""
    url = reverse("admin:conversations_message_picture", args=[message.pk])
    css = "ops-picture-thumb" if thumbnail else "ops-picture"
    return format_html(
        '<a href="{}"><img src="{}" class="{}" alt="Picture the user sent" loading="lazy"></a>', url, url, css
    )


class MessageInline(ReadOnlyInline):
    """The transcript: every message of the conversation in order, canned replies and pictures included."""

    model = Message
    fields = ["when", "speaker", "text", "tokens", "latency_ms", "correlation_id"]
    readonly_fields = fields
    ordering = ["created_at", "id"]
    classes = ["ops-transcript"]
    verbose_name_plural = "transcript"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("line_user", "sent_by")

    @admin.display(description="when (UTC)")
    def when(self, obj):
        return _when(obj)

    @admin.display(description="who")
    def speaker(self, obj):
        return _speaker(obj)

    @admin.display(description="message")
    def text(self, obj):
        picture = _picture(obj, thumbnail=True)
        if picture:
            return format_html("{}<br>{}", obj.content, picture)
        return obj.content

    @admin.display(description="tokens")
    def tokens(self, obj):
        return _tokens(obj)


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ["id", "source_type", "source_id", "user", "started_at", "ended_at"]
    list_filter = ["source_type"]
    search_fields = ["source_id", "user__line_user_id", "messages__correlation_id"]
    list_select_related = ["user"]
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(LargeTableAdmin, ReadOnlyAdmin):
    """Every message, newest first, in columns that fit a laptop screen; counted as core.large_table_admin does.

    The search still looks for words inside messages, which reads the table: that is what it is for.
    """

    # "who" says bot or the user's name, so the role needs no column of its own (it is a filter).
    list_display = ["when", "speaker", "short_content", "tokens", "conversation_link"]
    list_display_links = ["when"]
    list_filter = ["role"]
    search_fields = ["line_user__line_user_id", "conversation__source_id", "correlation_id", "content"]
    list_select_related = ["line_user", "conversation", "sent_by"]
    ordering = ["-created_at", "-id"]
    fields = [
        "created_at",
        "role",
        "conversation",
        "line_user",
        "sent_by",
        "content",
        "picture",
        "media_ref",
        "prompt_tokens",
        "completion_tokens",
        "latency_ms",
        "model",
        "correlation_id",
        "webhook_event",
    ]
    readonly_fields = fields

    @admin.display(description="when (UTC)", ordering="created_at")
    def when(self, obj):
        return _when(obj)

    @admin.display(description="who")
    def speaker(self, obj):
        return _speaker(obj)

    @admin.display(description="message")
    def short_content(self, obj):
        return Truncator(obj.content).chars(120)

    @admin.display(description="tokens")
    def tokens(self, obj):
        return _tokens(obj)

    @admin.display(description="conversation", ordering="conversation_id")
    def conversation_link(self, obj):
        url = reverse("admin:conversations_conversation_change", args=[obj.conversation_id])
        return format_html('<a href="{}">#{}</a>', url, obj.conversation_id)

    @admin.display(description="picture")
    def picture(self, obj):
        return _picture(obj, thumbnail=False) or "-"

    def get_urls(self):
        return [
            path(
                "<int:message_id>/picture/",
                self.admin_site.admin_view(self.picture_view),
                name="conversations_message_picture",
            ),
            *super().get_urls(),
        ]

    def picture_view(self, request, message_id: int):
        """The picture a user sent, fetched from LINE; a placeholder picture says why when it cannot be shown."""
        if not request.user.has_perm("conversations.view_message"):
            raise PermissionDenied
        message = get_object_or_404(Message, pk=message_id)
        try:
            picture = sent_images.sent_picture_fetch(media_ref=message.media_ref)
        except sent_images.PictureUnavailable as exc:
            return _picture_placeholder(request, exc)
        response = HttpResponse(picture.data, content_type=picture.content_type)
        response["Content-Disposition"] = f'inline; filename="{picture.file_name}"'
        # What users send is not kept anywhere, the browser's cache included.
        response["Cache-Control"] = "no-store"
        return response


def _picture_placeholder(request, unavailable: sent_images.PictureUnavailable) -> HttpResponse:
    lines = textwrap.wrap(unavailable.message, 44)
    context = {
        "headline": "Picture unavailable",
        "lines": [(52 + 18 * index, line) for index, line in enumerate(lines)],
        "height": 52 + 18 * len(lines),
        "message": unavailable.message,
    }
    response = render(
        request,
        "conversations/picture_unavailable.svg",
        context,
        content_type="image/svg+xml",
        status=404 if unavailable.gone else 502,
    )
    response["Cache-Control"] = "no-store"
    return response


class WebhookEventConflictInline(ReadOnlyInline):
    model = WebhookEventConflict
    fields = ["received_at", "last_received_at", "deliveries", "content_digest", "correlation_id"]
    readonly_fields = fields
    show_change_link = True


def _cut_id(value: str):
    """The start of a long id, the whole of it in the tooltip."""
    if len(value) <= 12:
        return value
    return format_html('<span title="{}">{}…</span>', value, value[:10])


# What LINE's webhook specification lists (webhook.yml, Event and Source): the filters offer these rather than
# reading every value in the table.
_EVENT_TYPES = [
    "message", "unsend", "follow", "unfollow", "join", "leave", "memberJoined", "memberLeft", "postback",
    "videoPlayComplete", "beacon", "accountLink", "membership", "module", "activated", "deactivated",
    "botSuspended", "botResumed", "delivery",
]  # fmt: skip
_SOURCE_TYPES = ["user", "group", "room"]


@admin.register(WebhookEvent)
class WebhookEventAdmin(LargeTableAdmin, ReadOnlyAdmin):
    """One row per event LINE sent: the changelist reads only what its page shows (core.large_table_admin)."""

    inlines = [WebhookEventConflictInline]
    # Columns that fit a 1366 px screen: long ids are cut, whole in their tooltip and on the event's page.
    list_display = [
        "when",
        "kind",
        "user",
        "status",
        "answer",
        "deliveries",
        "attempts",
        "correlation",
    ]
    list_display_links = ["when"]
    list_filter = [
        "status",
        fixed_values_filter("event_type", [(t, t) for t in _EVENT_TYPES], "event type"),
        "reply_state",
        fixed_values_filter("source_type", [(t, t) for t in _SOURCE_TYPES], "source type"),
        ("received_at", admin.DateFieldListFilter),
    ]
    search_fields = ["webhook_event_id", "line_user_id", "source_id", "correlation_id"]
    search_help_text = "A whole id: webhookEventId, LINE user, group or room id, or correlation id."

    @admin.display(description="received (UTC)", ordering="received_at")
    def when(self, obj):
        return f"{obj.received_at:%Y-%m-%d %H:%M:%S}"

    @admin.display(description="event", ordering="event_type")
    def kind(self, obj):
        kind = f"{obj.event_type} · {obj.message_type}" if obj.message_type else obj.event_type
        return kind if obj.source_type in ("user", "") else f"{kind} ({obj.source_type})"

    @admin.display(description="answer", ordering="reply_state")
    def answer(self, obj):
        state = obj.get_reply_state_display()
        return f"{state} · {obj.reply_method}" if obj.reply_method else state

    @admin.display(description="LINE user", ordering="line_user_id")
    def user(self, obj):
        return _cut_id(obj.line_user_id)

    @admin.display(description="correlation id", ordering="correlation_id")
    def correlation(self, obj):
        return _cut_id(obj.correlation_id)

    def get_search_results(self, request, queryset, search_term):
        """Whole ids, as operators paste them from logs and LINE, looked up in the indexes.

        A substring search (Django's default) reads every row of the table; a group or room id, whose
        column has no index of its own, still does.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        found = Q(webhook_event_id=term) | Q(line_user_id=term) | Q(correlation_id=term)
        if term[:1] in ("C", "R"):
            found |= Q(source_id=term)
        return queryset.filter(found), False


@admin.register(WebhookEventConflict)
class WebhookEventConflictAdmin(ReadOnlyAdmin):
    """Bodies that came under a known webhookEventId with other content: kept, never answered."""

    list_display = ["received_at", "webhook_event_id", "event", "deliveries", "last_received_at", "correlation_id"]
    search_fields = ["event__webhook_event_id", "event__line_user_id", "correlation_id", "content_digest"]
    list_select_related = ["event"]
    date_hierarchy = "received_at"

    @admin.display(description="webhook event id", ordering="event__webhook_event_id")
    def webhook_event_id(self, obj):
        return obj.event.webhook_event_id


@admin.register(Takeover)
class TakeoverAdmin(ReadOnlyAdmin):
    """Every takeover: who paused the bot for whom, until when, and how it ended."""

    list_display = ["started_at", "line_user", "started_by", "expires_at", "ended_at", "end_reason", "ended_by"]
    list_filter = ["end_reason"]
    search_fields = ["line_user__line_user_id", "line_user__display_name", "started_by__username"]
    list_select_related = ["line_user", "started_by", "ended_by"]
