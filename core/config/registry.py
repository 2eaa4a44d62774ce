"""Every runtime setting, defined once: key, type, default, bounds and whether it is critical.

The database only holds overrides (see :class:`core.config.models.RuntimeSetting`); a key
without an override reads as its default.  Each app defines its own settings in its
``runtime_settings`` module with :func:`register`, imported from its ``AppConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

_TYPE_NAMES = {str: "text", int: "whole number", float: "number", bool: "true/false"}


@dataclass(frozen=True)
class Definition:
    key: str
    type: type
    default: Any | Callable[[], Any]
    description: str
    critical: bool = False
    min_value: float | None = None
    max_value: float | None = None
    max_length: int | None = None
    # A sequence, or a callable returning one when the allowed values come from the environment.
    choices: Sequence[Any] | Callable[[], Sequence[Any]] | None = None

    def get_default(self) -> Any:
        return self.default() if callable(self.default) else self.default

    def get_choices(self) -> list[Any] | None:
        if self.choices is None:
            return None
        values = list(self.choices() if callable(self.choices) else self.choices)
        default = self.get_default()
        if default not in values:
            values.insert(0, default)
        return values

    def clean(self, value: Any) -> Any:
        """The value converted to this setting's type, or a ValidationError saying what is wrong."""
        value = self._coerce(value)
        if self.min_value is not None and value < self.min_value:
            raise ValidationError(
                f"{self.key} must be at least {_fmt(self.min_value)} (got {_fmt(value)}).", code="min_value"
            )
        if self.max_value is not None and value > self.max_value:
            raise ValidationError(
                f"{self.key} must be at most {_fmt(self.max_value)} (got {_fmt(value)}).", code="max_value"
            )
        if self.max_length is not None and len(value) > self.max_length:
            raise ValidationError(
                f"{self.key} must be at most {self.max_length} characters (got {len(value)}).", code="max_length"
            )
        choices = self.get_choices()
        if choices is not None and value not in choices:
            allowed = ", ".join(str(choice) for choice in choices)
            raise ValidationError(f"{self.key} must be one of: {allowed} (got {value!r}).", code="invalid_choice")
        return value

    def _coerce(self, value: Any) -> Any:
        expected = _TYPE_NAMES[self.type]
        if value is None:
            raise ValidationError(f"{self.key} needs a value ({expected}).", code="required")
        if self.type is bool:
            if isinstance(value, bool):
                return value
            raise ValidationError(f"{self.key} must be {expected} (got {value!r}).", code="invalid_type")
        if self.type is int:
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    return int(value)
                raise ValidationError(f"{self.key} must be a {expected} (got {value!r}).", code="invalid_type")
            return value
        if self.type is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValidationError(f"{self.key} must be a {expected} (got {value!r}).", code="invalid_type")
            if value != value or value in (float("inf"), float("-inf")):
                raise ValidationError(f"{self.key} must be a finite {expected}.", code="invalid_type")
            return float(value)
        if not isinstance(value, str):
            raise ValidationError(f"{self.key} must be {expected} (got {value!r}).", code="invalid_type")
        return value

    def describe_bounds(self) -> str:
        parts = [_TYPE_NAMES[self.type]]
        if self.min_value is not None:
            parts.append(f"≥ {_fmt(self.min_value)}")
        if self.max_value is not None:
            parts.append(f"≤ {_fmt(self.max_value)}")
        if self.max_length is not None:
            parts.append(f"at most {self.max_length} characters")
        choices = self.get_choices()
        if choices is not None:
            parts.append("one of " + ", ".join(str(choice) for choice in choices))
        return ", ".join(parts)


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def from_settings(name: str) -> Callable[[], Any]:
    """The environment-driven Django setting is the default; the database may override it."""
    return lambda: getattr(settings, name)


# Filled by each app's ``runtime_settings`` module, imported from its AppConfig.ready().
REGISTRY: dict[str, Definition] = {}


def register(*definitions: Definition) -> None:
    for definition in definitions:
        known = REGISTRY.get(definition.key)
        if known is not None and known != definition:
            raise ValueError(f"runtime setting {definition.key!r} is already defined differently")
        REGISTRY[definition.key] = definition


class UnknownSettingError(KeyError):
    def __str__(self) -> str:
        return f"unknown runtime setting {self.args[0]!r}; known: {', '.join(sorted(REGISTRY))}"


def definition_for(key: str) -> Definition:
    try:
        return REGISTRY[key]
    except KeyError:
        raise UnknownSettingError(key) from None
