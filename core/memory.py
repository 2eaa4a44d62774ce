"""Watches the process host's memory and tells subscribers when it runs short.

Levels are ``ok``, ``warning`` (default 70%) and ``critical`` (default 90%).
Subscribers are called on every check that is not ``ok`` so that caches keep
shrinking while pressure lasts; level changes are also logged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psutil
from prometheus_client import Gauge

from core.lazy import ProcessWide
from core.logging import get_logger

log = get_logger(__name__)

OK, WARNING, CRITICAL = "ok", "warning", "critical"
# Every process of a host sees the same number; across hosts the fullest one counts.
MEMORY_PERCENT = Gauge("host_memory_used_percent", "Host memory in use, percent", multiprocess_mode="livemax")

Subscriber = Callable[[str, float], None]


class MemoryMonitor:
    def __init__(
        self,
        *,
        warning_percent: float = 70.0,
        critical_percent: float = 90.0,
        read_percent: Callable[[], float] = lambda: psutil.virtual_memory().percent,
    ):
        if not 0 < warning_percent < critical_percent <= 100:
            raise ValueError("memory thresholds must satisfy 0 < warning < critical <= 100")
        self.warning_percent = warning_percent
        self.critical_percent = critical_percent
        self._read_percent = read_percent
        self._subscribers: list[Subscriber] = []
        self.level = OK
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def subscribe(self, callback: Subscriber) -> None:
        self._subscribers.append(callback)

    def unsubscribe(self, callback: Subscriber) -> None:
        self._subscribers.remove(callback)

    def level_for(self, percent: float) -> str:
        if percent >= self.critical_percent:
            return CRITICAL
        if percent >= self.warning_percent:
            return WARNING
        return OK

    def check(self) -> str:
        percent = self._read_percent()
        MEMORY_PERCENT.set(percent)
        level = self.level_for(percent)
        if level != self.level:
            log.warning("memory_level_changed", old=self.level, new=level, percent=percent)
            self.level = level
        if level != OK:
            for callback in list(self._subscribers):
                try:
                    callback(level, percent)
                except Exception:
                    log.exception("memory_subscriber_failed", subscriber=repr(callback))
        return level

    def start(self, interval: float = 15.0) -> None:
        """Checks in a daemon thread until :meth:`stop`."""
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()

        def run():
            while not self._stop.wait(interval):
                self.check()

        self._thread = threading.Thread(target=run, name="memory-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()


def build_memory_monitor() -> MemoryMonitor:
    from django.conf import settings

    return MemoryMonitor(
        warning_percent=settings.MEMORY_WARNING_PERCENT, critical_percent=settings.MEMORY_CRITICAL_PERCENT
    )


_monitor: ProcessWide[MemoryMonitor] = ProcessWide(build_memory_monitor)


def get_memory_monitor() -> MemoryMonitor:
    return _monitor.get()
