from django.contrib import admin
from django.utils import timezone

from monitoring.models import Alert


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["created_at", "severity", "kind", "message", "acknowledged_at"]
    list_filter = ["severity", "kind", ("acknowledged_at", admin.EmptyFieldListFilter)]
    search_fields = ["message", "kind"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "kind", "severity", "message", "details", "acknowledged_at"]
    actions = ["acknowledge"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Acknowledge selected alerts", permissions=["change"])
    def acknowledge(self, request, queryset):
        count = queryset.filter(acknowledged_at__isnull=True).update(acknowledged_at=timezone.now())
        self.message_user(request, f"{count} alert(s) acknowledged.")
