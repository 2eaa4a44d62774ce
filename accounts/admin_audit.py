"""Audits every change made through the admin: who, what, and the fields before and after.

``OpsAdminSite.register`` mixes :class:`AuditedModelAdminMixin` into every
ModelAdmin, so apps register their admins as usual and get auditing for free.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from accounts import audit
from accounts.models import AuditEvent

# Never copied into the audit log, even hashed.
SENSITIVE_FIELDS = {"password", "secret_hash", "key", "token", "secret", "bin_key"}
_BEFORE_ATTR = "_audit_before_snapshots"


def snapshot(obj: models.Model) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        value = field.value_from_object(obj)
        data[field.name] = "[hidden]" if field.name in SENSITIVE_FIELDS else value
    if obj.pk is not None:
        for field in obj._meta.many_to_many:
            data[field.name] = sorted(str(o) for o in getattr(obj, field.name).all())
    return audit._json_safe(data)


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    before, after = before or {}, after or {}
    return {
        name: {"before": before.get(name), "after": after.get(name)}
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def _target(obj) -> str:
    return f"{obj._meta.label_lower}:{obj.pk} {obj}"[:255]


class AuditedModelAdminMixin:
    def save_model(self, request, obj, form, change):
        before = None
        if change and obj.pk is not None:
            current = type(obj)._default_manager.filter(pk=obj.pk).first()
            before = snapshot(current) if current is not None else None
        setattr(request, _BEFORE_ATTR, {**getattr(request, _BEFORE_ATTR, {}), id(obj): (change, before)})
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        obj = form.instance
        was_change, before = getattr(request, _BEFORE_ATTR, {}).get(id(obj), (change, None))
        after = snapshot(obj)
        changes = diff(before, after)
        if was_change and not changes:
            return
        audit.record(
            action=AuditEvent.Action.ADMIN_CHANGE if was_change else AuditEvent.Action.ADMIN_ADD,
            actor=request.user,
            target=_target(obj),
            details={"model": obj._meta.label_lower, "object_id": str(obj.pk), "changes": changes},
            request=request,
        )

    def delete_model(self, request, obj):
        before, target, pk = snapshot(obj), _target(obj), obj.pk
        super().delete_model(request, obj)
        self._audit_delete(request, obj, pk, target, before)

    def delete_queryset(self, request, queryset):
        rows = [(obj, obj.pk, _target(obj), snapshot(obj)) for obj in queryset]
        super().delete_queryset(request, queryset)
        for obj, pk, target, before in rows:
            self._audit_delete(request, obj, pk, target, before)

    def _audit_delete(self, request, obj, pk, target, before):
        audit.record(
            action=AuditEvent.Action.ADMIN_DELETE,
            actor=request.user,
            target=target,
            details={"model": obj._meta.label_lower, "object_id": str(pk), "before": before},
            request=request,
        )

    def response_action(self, request, queryset):
        action_name = request.POST.get("action", "")
        selected = request.POST.getlist("_selected_action")
        response = super().response_action(request, queryset)
        if action_name and action_name != "delete_selected" and action_name in self.get_actions(request):
            # Deletions are recorded row by row above; other actions are recorded as a whole.
            audit.record(
                action=AuditEvent.Action.ADMIN_CHANGE,
                actor=request.user,
                target=f"{self.model._meta.label_lower}:action:{action_name}",
                details={"model": self.model._meta.label_lower, "action": action_name, "object_ids": selected[:500]},
                request=request,
            )
        return response


def audited(admin_class: type) -> type:
    if issubclass(admin_class, AuditedModelAdminMixin):
        return admin_class
    return type(admin_class.__name__, (AuditedModelAdminMixin, admin_class), {"__module__": admin_class.__module__})
