from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from core.config.registry import REGISTRY, UnknownSettingError, definition_for


class RuntimeSetting(models.Model):
    """The current value of one runtime setting; ``value`` is NULL while the code default applies."""

    key = models.CharField(max_length=100, unique=True)
    value = models.JSONField(null=True, blank=True)
    revision = models.PositiveIntegerField(default=0, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["key"]
        verbose_name = "runtime setting"
        permissions = [("change_critical_runtimesetting", "Can change critical runtime settings")]

    def __str__(self):
        return self.key

    @property
    def definition(self):
        return REGISTRY.get(self.key)

    @property
    def is_overridden(self) -> bool:
        return self.value is not None

    @property
    def effective_value(self):
        definition = definition_for(self.key)
        return definition.get_default() if self.value is None else self.value

    def clean(self):
        try:
            definition = definition_for(self.key)
        except UnknownSettingError as exc:
            raise ValidationError({"key": str(exc)}) from None
        if self.value is not None:
            self.value = definition.clean(self.value)


class AppendOnlyError(Exception):
    pass


class RuntimeSettingVersion(models.Model):
    """One change of a runtime setting: who, when, why and old → new. Never edited or removed."""

    setting = models.ForeignKey(RuntimeSetting, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    # NULL means "the code default" on either side.
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)
    reason = models.TextField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Kept when the user is deleted later.
    changed_by_username = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    rolled_back_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rollbacks"
    )
    # Version 0 is the code default and has no row, so a rollback to it is marked here.
    rolled_back_to_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["-id"]
        verbose_name = "runtime setting version"
        constraints = [models.UniqueConstraint(fields=["setting", "number"], name="core_setting_version_unique")]

    def __str__(self):
        return f"{self.setting.key} v{self.number}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("runtime setting versions cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("runtime setting versions cannot be deleted")

    @property
    def has_current_value(self) -> bool:
        """Its value is the one in effect, so rolling back to it would change nothing."""
        return self.new_value == self.setting.value

    @property
    def rolls_back_to(self) -> int | None:
        """The number of the version this one restored, 0 for the code default."""
        if self.rolled_back_to_default:
            return 0
        return self.rolled_back_from.number if self.rolled_back_from_id else None
