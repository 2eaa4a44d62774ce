from django.contrib import admin

from conversations.models import Conversation, LineUser, Message, WebhookEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records of what happened: viewable and searchable, never edited by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LineUser)
class LineUserAdmin(admin.ModelAdmin):
    list_display = ["line_user_id", "display_name", "language", "status", "first_seen_at", "last_seen_at"]
    list_filter = ["status", "language"]
    search_fields = ["line_user_id", "display_name", "conversations__messages__correlation_id"]
    readonly_fields = ["line_user_id", "first_seen_at", "last_seen_at", "picture_url", "status_message"]

    def has_add_permission(self, request):
        return False


class MessageInline(admin.TabularInline):
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
    extra = 0
    can_delete = False
    show_change_link = False
    ordering = ["created_at", "id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


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


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
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
