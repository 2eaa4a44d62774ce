"""API keys for machine clients (services).

A key reads ``<prefix>.<secret>``. The prefix finds the row; the secret is
checked against an HMAC-SHA256 of it keyed with a pepper that lives outside
the database, so a leaked table does not reveal usable keys.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts import audit
from accounts.models import ApiKey, AuditEvent, User
from core.errors import ValidationError

# The scopes an API key can carry. Apps that add endpoints for machine
# clients add their scope here and set ``required_scope`` on the view.
SCOPES: dict[str, str] = {
    "me:read": "Read the key owner's profile",
    "audit:read": "Read the audit log (owner must be an Administrator)",
    "conversations:read": "Read conversations and events",
    "conversations:write": "Change conversations",
    "messages:send": "Send messages",
    "richmessages:read": "Read rich messages and rich menus",
    "richmessages:write": "Change rich messages and rich menus",
    "analytics:read": "Read analytics",
    "campaigns:read": "Read campaigns and their progress",
    "campaigns:write": "Create, edit, submit, pause, resume and cancel campaigns",
    "campaigns:approve": "Approve campaigns or send them back (owner must be an Operator or Administrator)",
    "personal_data:export": "Export everything held about a LINE user (owner must be an Operator or Administrator)",
    "personal_data:erase": "Erase a LINE user's personal data (owner must be an Administrator)",
}

# Touch last_used_at at most this often, not on every request.
_LAST_USED_PRECISION = timedelta(minutes=1)
_LAST_USED_AUDIT_KEY = "apikey:used:{prefix}"


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    # The full key, known only at creation: it is not stored and cannot be shown again.
    plaintext: str


def _hash(secret: str) -> str:
    pepper = settings.API_KEY_PEPPER or settings.SECRET_KEY
    return salted_hmac("accounts.api_key", secret, secret=pepper, algorithm="sha256").hexdigest()


def _validate_scopes(scopes: list[str]) -> list[str]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValidationError(f"unknown scope(s): {', '.join(unknown)}", details={"scopes": unknown})
    if not scopes:
        raise ValidationError("an API key needs at least one scope", details={"scopes": ["required"]})
    return sorted(set(scopes))


def _new_prefix() -> str:
    while True:
        prefix = secrets.token_hex(6)
        if not ApiKey.objects.filter(prefix=prefix).exists():
            return prefix


@transaction.atomic
def api_key_create(
    *,
    user: User,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    actor: User | None = None,
    request=None,
) -> IssuedKey:
    name = (name or "").strip()
    if not name:
        raise ValidationError("an API key needs a name", details={"name": ["required"]})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError("the expiry must be in the future", details={"expires_at": ["in the past"]})
    scopes = _validate_scopes(scopes)
    secret = secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        user=user,
        name=name[:100],
        prefix=_new_prefix(),
        secret_hash=_hash(secret),
        scopes=scopes,
        expires_at=expires_at,
    )
    audit.record(
        action=AuditEvent.Action.API_KEY_CREATED,
        actor=actor or user,
        target=f"api_key:{key.prefix}",
        details={
            "owner": user.username,
            "name": key.name,
            "scopes": scopes,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
        request=request,
    )
    return IssuedKey(api_key=key, plaintext=f"{key.prefix}.{secret}")


@transaction.atomic
def api_key_rotate(*, api_key: ApiKey, actor: User, overlap: timedelta | None = None, request=None) -> IssuedKey:
    """A new key with the same owner and scopes; the old one keeps working until the overlap ends."""
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if not api_key.is_usable():
        raise ValidationError("only an active key can be rotated")
    if api_key.replaced_by_id:
        raise ValidationError("this key has already been rotated")
    overlap = settings.API_KEY_ROTATION_OVERLAP if overlap is None else overlap
    issued = api_key_create(
        user=api_key.user,
        name=api_key.name,
        scopes=api_key.scopes,
        expires_at=api_key.expires_at,
        actor=actor,
        request=request,
    )
    now = timezone.now()
    overlap_end = now + overlap
    api_key.rotated_at = now
    api_key.replaced_by = issued.api_key
    api_key.expires_at = min(api_key.expires_at, overlap_end) if api_key.expires_at else overlap_end
    api_key.save(update_fields=["rotated_at", "replaced_by", "expires_at"])
    audit.record(
        action=AuditEvent.Action.API_KEY_ROTATED,
        actor=actor,
        target=f"api_key:{api_key.prefix}",
        details={"new_prefix": issued.api_key.prefix, "old_valid_until": api_key.expires_at.isoformat()},
        request=request,
    )
    return issued


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: User, request=None) -> ApiKey:
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit.record(
            action=AuditEvent.Action.API_KEY_REVOKED,
            actor=actor,
            target=f"api_key:{api_key.prefix}",
            details={"owner": api_key.user.username},
            request=request,
        )
    return api_key


class InvalidApiKey(Exception):
    def __init__(self, reason: str, prefix: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.prefix = prefix


def api_key_authenticate(*, presented: str, request=None) -> ApiKey:
    """The usable key matching ``presented``; raises :class:`InvalidApiKey` otherwise."""
    prefix, sep, secret = presented.strip().partition(".")
    if not sep or not prefix or not secret or len(prefix) > 16:
        raise InvalidApiKey("malformed")
    key = ApiKey.objects.select_related("user").filter(prefix=prefix).first()
    # Hash anyway when the prefix is unknown so timing does not reveal which prefixes exist.
    expected = key.secret_hash if key else _hash("unknown-prefix")
    if not hmac.compare_digest(expected, _hash(secret)) or key is None:
        raise InvalidApiKey("unknown", prefix)
    now = timezone.now()
    if key.revoked_at is not None:
        raise InvalidApiKey("revoked", prefix)
    if key.expires_at is not None and key.expires_at <= now:
        raise InvalidApiKey("expired", prefix)
    if not key.user.is_active:
        raise InvalidApiKey("owner_inactive", prefix)
    if key.last_used_at is None or now - key.last_used_at >= _LAST_USED_PRECISION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
        # One "used" audit row per key per minute keeps the log readable under load.
        audit.record(
            action=AuditEvent.Action.API_KEY_USED,
            actor=key.user,
            target=f"api_key:{key.prefix}",
            details={"path": request.path if request is not None else ""},
            request=request,
        )
    return key
