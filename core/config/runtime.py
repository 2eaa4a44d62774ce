"""Per-process cache of runtime settings with hot reload.

Each process keeps the current overrides in memory.  At most every
``CHECK_INTERVAL`` seconds it compares its version with the shared version
counter in Redis (``config:version``, the id of the newest
:class:`core.config.models.RuntimeSettingVersion`), which every change writes after its
transaction commits; a different number means "reload from the database".

When Redis is unavailable (or not configured) the process asks the database
for the newest version id instead, at most every ``DB_POLL_INTERVAL`` seconds.
If the database cannot be read either, the last known values (or the defaults)
stay in use.  Whatever Redis says, everything is re-read after ``MAX_STALENESS``
seconds, so a lost version write cannot leave a process behind for long.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from core.logging import get_logger

log = get_logger(__name__)

CHECK_INTERVAL = 1.0
DB_POLL_INTERVAL = 2.0
MAX_STALENESS = 30.0


def version_key() -> str:
    return "config:version"


def _shared_version() -> int | None:
    """The version published in Redis, or None when Redis cannot tell us."""
    from core.redis import get_redis

    manager = get_redis()
    raw = manager.get(version_key())
    if manager.using_fallback or raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def _database_version() -> int:
    from django.db.models import Max

    from core.config.models import RuntimeSettingVersion

    return RuntimeSettingVersion.objects.aggregate(newest=Max("id"))["newest"] or 0


def _load_overrides() -> dict[str, Any]:
    from core.config.models import RuntimeSetting
    from core.config.registry import REGISTRY

    values: dict[str, Any] = {}
    for key, raw in RuntimeSetting.objects.filter(value__isnull=False).values_list("key", "value"):
        definition = REGISTRY.get(key)
        if definition is None:
            continue
        try:
            values[key] = definition.clean(raw)
        except Exception:  # noqa: BLE001 - a value that no longer fits its schema falls back to the default
            log.warning("runtime_setting_invalid_in_database", key=key)
    return values


def publish_version(version_id: int) -> None:
    """Tells every process that settings changed (called after the change committed)."""
    from core.redis import get_redis

    get_redis().set(version_key(), str(version_id))
    state.invalidate()


def note_local_change() -> None:
    """This process just wrote a change that may still be rolled back; see RuntimeState."""
    state.invalidate(uncommitted=True)


class RuntimeState:
    def __init__(self):
        self._lock = threading.Lock()
        self._values: dict[str, Any] | None = None
        self._version: int | None = None
        self._loaded_at = 0.0
        self._next_check = 0.0
        self._next_db_poll = 0.0
        # Set while this process holds values written by a transaction that may not commit:
        # they are re-read on every call until read outside a transaction, so a rollback
        # cannot leave them behind.
        self._uncommitted = False

    def values(self) -> dict[str, Any]:
        if self._values is not None and not self._uncommitted and time.monotonic() < self._next_check:
            return self._values
        with self._lock:
            now = time.monotonic()
            if self._values is None or self._uncommitted or now >= self._next_check:
                self._refresh(now)
        return self._values if self._values is not None else {}

    def invalidate(self, *, uncommitted: bool = False) -> None:
        with self._lock:
            self._next_check = 0.0
            self._next_db_poll = 0.0
            self._version = None
            self._uncommitted = uncommitted

    def reset(self) -> None:
        """Forgets everything (tests)."""
        with self._lock:
            self._values = None
            self._version = None
            self._uncommitted = False
            self._loaded_at = self._next_check = self._next_db_poll = 0.0

    def _refresh(self, now: float) -> None:
        from django.db import connection

        self._next_check = now + CHECK_INTERVAL
        current = self._values is not None and not self._uncommitted and now - self._loaded_at < MAX_STALENESS
        try:
            version = _shared_version()
            if version is None:
                if current and now < self._next_db_poll:
                    return
                self._next_db_poll = now + DB_POLL_INTERVAL
                version = _database_version()
            if current and version == self._version:
                return
            settled = not connection.in_atomic_block
            values = _load_overrides()
        except Exception as exc:  # noqa: BLE001 - keep serving the last known values
            log.warning("runtime_settings_reload_failed", error=type(exc).__name__)
            return
        if settled:
            self._uncommitted = False
        changed = self._values is not None and values != self._values
        self._values, self._version, self._loaded_at = values, version, now
        if changed:
            log.info("runtime_settings_reloaded", version=version)


state = RuntimeState()
