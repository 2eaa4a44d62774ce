"""Writes to runtime settings: every change is validated, permission-checked, versioned, audited and published."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as FieldError
from django.db import transaction
from django.dispatch import Signal

from core.config import runtime
from core.config.models import RuntimeSetting, RuntimeSettingVersion
from core.config.registry import REGISTRY, Definition, definition_for
from core.errors import PermissionDeniedError, ValidationError
from core.logging import get_logger

log = get_logger(__name__)

REASON_MAX_LENGTH = 1000
# Administrators hold it (their role has every permission); nobody else may change a critical setting.
CRITICAL_PERMISSION = "core.change_critical_runtimesetting"

# Sent inside the changing transaction with ``version``, ``definition``, ``actor`` and ``request``;
# the audit log (accounts) records each change from it.
runtime_setting_changed = Signal()


def settings_sync(*, using: str = "default") -> None:
    """Gives every registry key a row, so the admin lists all of them (runs after migrate)."""
    existing = set(RuntimeSetting.objects.using(using).values_list("key", flat=True))
    RuntimeSetting.objects.using(using).bulk_create(
        [RuntimeSetting(key=key) for key in REGISTRY if key not in existing], ignore_conflicts=True
    )


def can_change(*, user, definition: Definition) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if definition.critical:
        return user.has_perm(CRITICAL_PERMISSION)
    return user.has_perm("core.change_runtimesetting")


def _check_permission(*, actor, definition: Definition) -> None:
    if can_change(user=actor, definition=definition):
        return
    if definition.critical:
        raise PermissionDeniedError(f"{definition.key} is a critical setting; only an Administrator may change it.")
    raise PermissionDeniedError(f"You may not change {definition.key}.")


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        message = "Say why the setting changes; the reason is kept in its history."
        raise ValidationError(message, details={"reason": [message]})
    if len(reason) > REASON_MAX_LENGTH:
        message = f"Keep the reason under {REASON_MAX_LENGTH} characters."
        raise ValidationError(message, details={"reason": [message]})
    return reason


@transaction.atomic
def setting_update(
    *,
    key: str,
    value: Any,
    actor,
    reason: str,
    request=None,
    rolled_back_from: RuntimeSettingVersion | None = None,
    rolled_back_to_default: bool = False,
) -> RuntimeSettingVersion | None:
    """Sets ``key`` to ``value`` (``None`` restores the code default).

    Returns the new version, or ``None`` when the value did not change.
    Raises :class:`core.errors.ValidationError` for a value outside the schema or a missing
    reason and :class:`core.errors.PermissionDeniedError` when ``actor`` may not change the setting.
    """
    definition = definition_for(key)
    _check_permission(actor=actor, definition=definition)
    reason = _clean_reason(reason)
    if value is not None:
        try:
            value = definition.clean(value)
        except FieldError as exc:
            raise ValidationError("; ".join(exc.messages), details={"value": exc.messages}) from None

    setting, _ = RuntimeSetting.objects.get_or_create(key=key)
    setting = RuntimeSetting.objects.select_for_update().get(pk=setting.pk)
    old_value = setting.value
    if old_value == value:
        return None

    setting.value = value
    setting.revision += 1
    setting.updated_by = actor
    setting.save()
    version = RuntimeSettingVersion.objects.create(
        setting=setting,
        number=setting.revision,
        old_value=old_value,
        new_value=value,
        reason=reason,
        changed_by=actor,
        changed_by_username=actor.get_username(),
        rolled_back_from=rolled_back_from,
        rolled_back_to_default=rolled_back_to_default,
    )
    runtime_setting_changed.send(
        sender=RuntimeSettingVersion, version=version, definition=definition, actor=actor, request=request
    )
    log.info("runtime_setting_changed", key=key, version=version.number, actor=actor.get_username())

    # This process sees its own change at once; the others once the version is published.
    runtime.note_local_change()
    version_id = version.id
    transaction.on_commit(lambda: runtime.publish_version(version_id))
    return version


def setting_rollback(*, version: RuntimeSettingVersion, actor, reason: str, request=None) -> RuntimeSettingVersion:
    """Restores the value ``version`` set; the rollback is itself a new version.

    Raises :class:`core.errors.ValidationError` when the setting already has that value
    (the version is the current one, or a later change set the same value again).
    """
    setting = version.setting
    result = setting_update(
        key=setting.key,
        value=version.new_value,
        actor=actor,
        reason=reason,
        request=request,
        rolled_back_from=version,
    )
    if result is None:
        raise ValidationError(f"{setting.key} already has the value of version {version.number}.")
    return result


def setting_rollback_to_default(*, key: str, actor, reason: str, request=None) -> RuntimeSettingVersion:
    """Restores the code default ("version 0"); the rollback is itself a new version."""
    result = setting_update(
        key=key, value=None, actor=actor, reason=reason, request=request, rolled_back_to_default=True
    )
    if result is None:
        raise ValidationError(f"{key} already uses the code default (version 0).")
    return result
