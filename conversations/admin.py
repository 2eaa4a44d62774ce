from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from conversations import staff_messages
from conversations.line_messages import MAX_UTF16_UNITS
from conversations.models import Conversation, LineUser, Message, WebhookEvent, WebhookEventConflict
from core.errors import AppError, ValidationError
from core.readonly_admin import ReadOnlyAdmin, ReadOnlyInline


@admin.register(LineUser)
class LineUserAdmin(admin.ModelAdmin):
    list_display = ["line_user_id", "display_name", "language", "status", "first_seen_at", "last_seen_at"]
    list_filter = ["status", "language"]
    search_fields = ["line_user_id", "display_name", "conversations__messages__correlation_id"]
    readonly_fields = ["line_user_id", "first_seen_at", "last_seen_at", "picture_url", "status_message"]
    actions = ["send_test_message"]

    def has_add_permission(self, request):
        return False

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


class MessageInline(ReadOnlyInline):
    model = Message
    fields = [
        "created_at",
        "role",
        "line_user",
        "content",
        "media_ref",
        "prompt_tokens",
        "completion_tokens",
        "latency_ms",
        "correlation_id",
    ]
    readonly_fields = fields
    ordering = ["created_at", "id"]


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ["id", "source_type", "source_id", "user", "started_at", "ended_at"]
    list_filter = ["source_type"]
    search_fields = ["source_id", "user__line_user_id", "messages__correlation_id"]
    list_select_related = ["user"]
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "role",
        "conversation",
        "line_user",
        "short_content",
        "prompt_tokens",
        "completion_tokens",
        "latency_ms",
        "correlation_id",
    ]
    list_filter = ["role"]
    search_fields = ["line_user__line_user_id", "conversation__source_id", "correlation_id", "content"]
    list_select_related = ["line_user", "conversation"]

    @admin.display(description="content")
    def short_content(self, obj):
        return obj.content[:80]


class WebhookEventConflictInline(ReadOnlyInline):
    model = WebhookEventConflict
    fields = ["received_at", "last_received_at", "deliveries", "content_digest", "correlation_id"]
    readonly_fields = fields
    show_change_link = True


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    inlines = [WebhookEventConflictInline]
    list_display = [
        "received_at",
        "event_type",
        "message_type",
        "source_type",
        "line_user_id",
        "status",
        "reply_state",
        "reply_method",
        "deliveries",
        "attempts",
        "correlation_id",
    ]
    list_filter = ["status", "event_type", "reply_state", "source_type"]
    search_fields = ["webhook_event_id", "line_user_id", "source_id", "correlation_id"]
    date_hierarchy = "received_at"


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
