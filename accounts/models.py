from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class User(AbstractUser):
    """Staff and API users. Defined from the first migration so it can grow later."""

    # Part of the session hash: bumping it ends every session of the user
    # (used when the MFA device changes; a password change does the same by itself).
    session_generation = models.PositiveIntegerField(default=0)
    # Set for a one-time password (the demo superuser's): the ops console holds the user on the
    # password change page until they chose their own.
    must_change_password = models.BooleanField(
        default=False, help_text="The user must choose a new password before using the ops console."
    )

    class Meta:
        db_table = "accounts_user"
        permissions = [("send_test_message", "Can send test messages")]

    def get_session_auth_hash(self):
        from django.utils.crypto import salted_hmac

        key_salt = "accounts.User.get_session_auth_hash"
        return salted_hmac(key_salt, f"{self.password}:{self.session_generation}", algorithm="sha256").hexdigest()

    def get_session_auth_fallback_hash(self):
        from django.utils.crypto import salted_hmac

        for fallback_secret in settings.SECRET_KEY_FALLBACKS:
            yield salted_hmac(
                "accounts.User.get_session_auth_hash",
                f"{self.password}:{self.session_generation}",
                secret=fallback_secret,
                algorithm="sha256",
            ).hexdigest()


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditLogIsAppendOnly("audit events cannot be updated")

    def delete(self):
        raise AuditLogIsAppendOnly("audit events cannot be deleted")


class AuditLogIsAppendOnly(Exception):
    pass


class AuditEvent(models.Model):
    """One security-relevant fact. Rows are written once and never changed or removed."""

    class Action(models.TextChoices):
        LOGIN = "login", "Login"
        LOGIN_FAILED = "login_failed", "Login failed"
        LOGOUT = "logout", "Logout"
        OTP_FAILED = "otp_failed", "OTP failed"
        LOCKED_OUT = "locked_out", "Locked out"
        SESSION_EXPIRED = "session_expired", "Session expired"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        DEVICE_ENROLLED = "device_enrolled", "MFA device enrolled"
        DEVICE_RESET = "device_reset", "MFA device reset"
        BACKUP_CODES_REGENERATED = "backup_codes_regenerated", "Backup codes regenerated"
        BACKUP_CODE_USED = "backup_code_used", "Backup code used"
        ROLE_ASSIGNED = "role_assigned", "Role assigned"
        ROLE_REMOVED = "role_removed", "Role removed"
        API_KEY_CREATED = "api_key_created", "API key created"
        API_KEY_USED = "api_key_used", "API key used"
        API_KEY_ROTATED = "api_key_rotated", "API key rotated"
        API_KEY_REVOKED = "api_key_revoked", "API key revoked"
        API_KEY_REJECTED = "api_key_rejected", "API key rejected"
        JWT_OBTAINED = "jwt_obtained", "JWT obtained"
        JWT_REFRESH_REUSE = "jwt_refresh_reuse", "JWT refresh token reused"
        PERMISSION_DENIED = "permission_denied", "Permission denied"
        ADMIN_ADD = "admin_add", "Admin: added"
        ADMIN_CHANGE = "admin_change", "Admin: changed"
        ADMIN_DELETE = "admin_delete", "Admin: deleted"
        CONFIG_CHANGED = "config_changed", "Configuration changed"
        CONFIG_ROLLED_BACK = "config_rolled_back", "Configuration rolled back"
        SUSPICIOUS_ACTIVITY = "suspicious_activity", "Suspicious activity"
        AUDIT_EXPORTED = "audit_exported", "Audit log exported"
        TEST_MESSAGE_SENT = "test_message_sent", "Test message sent"
        RICH_TEMPLATE_CREATED = "rich_template_created", "Rich template created"
        RICH_TEMPLATE_UPDATED = "rich_template_updated", "Rich template updated"
        RICH_TEMPLATE_APPROVED = "rich_template_approved", "Rich template approved"
        RICH_TEMPLATE_ARCHIVED = "rich_template_archived", "Rich template archived"
        RICH_MENU_SYNCED = "rich_menu_synced", "Rich menu synced to LINE"
        RICH_MENU_USERS_LINKED = "rich_menu_users_linked", "Rich menu linked to users"
        CAMPAIGN_CREATED = "campaign_created", "Campaign created"
        CAMPAIGN_UPDATED = "campaign_updated", "Campaign updated"
        CAMPAIGN_SUBMITTED = "campaign_submitted", "Campaign submitted for review"
        CAMPAIGN_APPROVED = "campaign_approved", "Campaign approved"
        CAMPAIGN_REJECTED = "campaign_rejected", "Campaign sent back"
        CAMPAIGN_PAUSED = "campaign_paused", "Campaign paused"
        CAMPAIGN_RESUMED = "campaign_resumed", "Campaign resumed"
        CAMPAIGN_CANCELLED = "campaign_cancelled", "Campaign cancelled"
        CAMPAIGN_SEND_STARTED = "campaign_send_started", "Campaign send started"
        CAMPAIGN_SEND_FINISHED = "campaign_send_finished", "Campaign send finished"
        CAMPAIGN_FAILED = "campaign_failed", "Campaign failed"
        RICH_MESSAGE_BUILT = "rich_message_built", "Rich message built"
        RICH_MESSAGE_TEST_SENT = "rich_message_test_sent", "Rich message sent as a test"
        TAKEOVER_STARTED = "takeover_started", "Conversation taken over"
        TAKEOVER_MESSAGE_SENT = "takeover_message_sent", "Operator message sent"
        TAKEOVER_ENDED = "takeover_ended", "Conversation handed back"
        PERSONAL_DATA_EXPORTED = "personal_data_exported", "Personal data exported"
        PERSONAL_DATA_ERASED = "personal_data_erased", "Personal data erased"

    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    # Kept even if the user is deleted later.
    actor_username = models.CharField(max_length=150, blank=True, editable=False)
    action = models.CharField(max_length=40, choices=Action.choices, db_index=True, editable=False)
    target = models.CharField(max_length=255, blank=True, editable=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True, editable=False)
    user_agent = models.CharField(max_length=512, blank=True, editable=False)
    correlation_id = models.CharField(max_length=128, blank=True, editable=False)
    details = models.JSONField(default=dict, blank=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["actor", "created_at"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.actor_username or '-'} {self.target}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditLogIsAppendOnly("audit events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogIsAppendOnly("audit events cannot be deleted")


class ApiKeyQuerySet(models.QuerySet):
    def usable(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiKey(models.Model):
    """A credential for a machine client: ``<prefix>.<secret>``; only a keyed hash of the secret is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=128, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces", editable=False
    )

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.prefix})"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @property
    def status(self) -> str:
        now = timezone.now()
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= now:
            return "expired"
        if self.replaced_by_id:
            return "rotating"
        return "active"


class KnownLoginAddress(models.Model):
    """Addresses a user has signed in from; a staff login from a new one is worth a look."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    ip_address = models.GenericIPAddressField()
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "ip_address"], name="known_login_address_unique")]

    def __str__(self):
        return f"{self.user_id} from {self.ip_address}"
