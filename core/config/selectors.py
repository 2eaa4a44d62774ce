"""Reads for the admin: each setting's history with a readable diff."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from core.config.models import RuntimeSetting, RuntimeSettingVersion
from core.config.registry import REGISTRY


def display_value(key: str, value: Any) -> str:
    """The value as an operator reads it; NULL shows the default it stands for."""
    if value is None:
        definition = REGISTRY.get(key)
        default = definition.get_default() if definition else None
        return f"(default) {_render(default)}"
    return _render(value)


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def version_diff(version: RuntimeSettingVersion) -> str:
    """A unified diff for text, ``old → new`` for everything else."""
    key = version.setting.key
    old, new = display_value(key, version.old_value), display_value(key, version.new_value)
    if "\n" in old or "\n" in new or len(old) > 80 or len(new) > 80:
        lines = difflib.unified_diff(
            old.splitlines(),
            new.splitlines(),
            fromfile=f"v{version.number - 1}",
            tofile=f"v{version.number}",
            lineterm="",
        )
        return "\n".join(lines)
    return f"{old} → {new}"


def setting_history(*, key: str):
    return RuntimeSettingVersion.objects.filter(setting__key=key).select_related(
        "setting", "changed_by", "rolled_back_from"
    )


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a setting's history; version 0 (``version is None``) is the code default."""

    number: int
    version: RuntimeSettingVersion | None
    # Its value is the one in effect now, so rolling back to it would change nothing.
    is_current: bool
    is_newest: bool


def setting_history_entries(*, setting: RuntimeSetting) -> list[HistoryEntry]:
    """Every version of ``setting``, newest first, ending with version 0, the code default."""
    versions = list(setting_history(key=setting.key))
    entries = [
        HistoryEntry(
            number=version.number,
            version=version,
            is_current=version.has_current_value,
            is_newest=index == 0,
        )
        for index, version in enumerate(versions)
    ]
    entries.append(HistoryEntry(number=0, version=None, is_current=setting.value is None, is_newest=not versions))
    return entries
