"""Runtime settings: values operators change in the admin, seen by every process within seconds.

    from core import config
    config.get("persona")            # -> str
    config.get("llm.temperature")    # -> float

``get`` returns the typed current value, or the registry default when the key
has no override (or the database cannot be read).  It reads the database, so
call it from synchronous code (in async code wrap it with ``sync_to_async``).
The keys and their schemas live in :mod:`core.config.registry`.
"""

from __future__ import annotations

from typing import Any

from core.config.registry import REGISTRY, Definition, UnknownSettingError, definition_for

__all__ = ["REGISTRY", "Definition", "UnknownSettingError", "get", "get_all"]


def get(key: str) -> Any:
    definition = definition_for(key)
    from core.config.runtime import state

    values = state.values()
    if key in values:
        return values[key]
    return definition.get_default()


def get_all() -> dict[str, Any]:
    """Every setting's current value, keyed by name."""
    return {key: get(key) for key in REGISTRY}
