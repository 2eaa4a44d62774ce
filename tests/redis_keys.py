"""Cleaning up Redis in tests: only ever this run's own keys.

Several test runs, and perhaps a developer's bot, share one Redis server; each writes under
its own ``REDIS_KEY_PREFIX``. Tests scan with :meth:`core.redis.RedisManager.pattern`, never
with a raw pattern, and never flush a database.
"""

from __future__ import annotations

from core.redis import RedisManager, get_redis


def delete_own_keys(name_glob: str, manager: RedisManager | None = None) -> int:
    """Deletes this run's keys whose names (after the prefix) match ``name_glob``; returns how many."""
    manager = manager or get_redis()
    if manager.client is None:
        return 0
    deleted = 0
    for key in manager.client.scan_iter(match=manager.pattern(name_glob)):
        deleted += manager.client.delete(key)
    return deleted
