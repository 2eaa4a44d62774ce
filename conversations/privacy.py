"""A LINE user's rights over their data: export everything held about them, erase it. Both audited.

The data lives in many apps; each registers a provider with :mod:`core.personal_data` and these
services walk the registry. Export needs ``conversations.export_personal_data`` (Operators and
Administrators), erase ``conversations.erase_personal_data`` (Administrators only).

Erased users leave a tombstone: their ``LineUser`` row with a random ``erased:…`` id and an empty
profile, so that campaign and event counts stay as they were. In the audit log the user is named by
that row's key, never by their LINE id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent
from conversations.models import LineUser
from core import personal_data
from core.errors import PermissionDeniedError, ValidationError
from core.logging import get_logger

log = get_logger(__name__)

EXPORT_PERMISSION = "conversations.export_personal_data"
ERASE_PERMISSION = "conversations.erase_personal_data"
ERASED_PREFIX = "erased:"


@dataclass
class Erasure:
    line_user_pk: int
    replacement: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # Filled only when asked to verify: every column still holding the LINE user id.
    remaining: list[personal_data.Trace] = field(default_factory=list)


def _check(actor, permission: str) -> None:
    if actor is not None and not actor.has_perm(permission):
        raise PermissionDeniedError(f"{permission} is needed for this.")


def _target(user: LineUser) -> str:
    return f"line_user:#{user.pk}"


def is_erased(user: LineUser) -> bool:
    return user.line_user_id.startswith(ERASED_PREFIX)


def line_user_export(*, line_user: LineUser, actor, request=None) -> dict[str, Any]:
    """Everything held about the user, by app, as JSON-ready data. ``actor`` None: a trusted command."""
    _check(actor, EXPORT_PERMISSION)
    subject = personal_data.Subject(pk=line_user.pk, line_user_id=line_user.line_user_id)
    data: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "line_user_id": line_user.line_user_id,
    }
    for provider in personal_data.providers():
        part = provider.export(subject)
        if part:
            data[provider.name] = part
    audit.record(
        action=AuditEvent.Action.PERSONAL_DATA_EXPORTED,
        actor=actor,
        target=_target(line_user),
        details={"parts": sorted(k for k in data if k not in ("exported_at", "line_user_id"))},
        request=request,
    )
    return data


def line_user_erase(*, line_user: LineUser, actor, request=None, verify: bool = False) -> Erasure:
    """Deletes or anonymises everything held about the user, in every app and in Redis.

    ``verify`` then searches every table's text and JSON columns for the LINE user id (slow on big
    tables) and reports what is left in :attr:`Erasure.remaining`.
    """
    _check(actor, ERASE_PERMISSION)
    if is_erased(line_user):
        raise ValidationError("This LINE user was erased already.")
    needle = line_user.line_user_id
    replacement = f"{ERASED_PREFIX}{uuid.uuid4().hex[:25]}"
    subject = personal_data.Subject(pk=line_user.pk, line_user_id=needle, replacement=replacement)
    erasure = Erasure(line_user_pk=line_user.pk, replacement=replacement)
    with transaction.atomic():
        for provider in personal_data.providers():
            erasure.counts[provider.name] = provider.erase(subject)
        audit.record(
            action=AuditEvent.Action.PERSONAL_DATA_ERASED,
            actor=actor,
            target=_target(line_user),
            details={"counts": erasure.counts},
            request=request,
        )
    log.info("line_user_erased", line_user=line_user.pk)
    if verify:
        erasure.remaining = personal_data.traces(needle).traces
        if erasure.remaining:
            log.error("line_user_erase_left_traces", line_user=line_user.pk, traces=len(erasure.remaining))
    line_user.refresh_from_db()
    return erasure


def personal_data_retain(*, now: datetime | None = None) -> dict[str, dict[str, int]]:
    """Ages out what is older than the retention periods, in every app; aggregates stay."""
    now = now or timezone.now()
    done = {}
    for provider in personal_data.providers():
        if provider.retain is not None:
            done[provider.name] = provider.retain(now)
    log.info("personal_data_retained", **{k: sum(v.values()) for k, v in done.items()})
    return done
