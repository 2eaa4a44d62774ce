"""Watches the process host's memory and tells subscribers when it runs short.

Levels are ``ok``, ``warning`` (default 70%) and ``critical`` (default 90%).
Subscribers are called on every check that is not ``ok`` so that caches keep
shrinking while pressure lasts; level changes are also logged.

Each check also exports this process's resident memory, labelled by its kind
(web, daphne, worker, beat: :mod:`core.processes`), and both thresholds, for the
dashboard and alert rules.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psutil
from prometheus_client import Gauge

from core import processes
from core.lazy import ProcessWide
from core.logging import get_logger

log = get_logger(__name__)

OK, WARNING, CRITICAL = "ok", "warning", "critical"
# Every process of a host sees the same number; across hosts the fullest one counts.
MEMORY_PERCENT = Gauge("host_memory_used_percent", "Host memory in use, percent", multiprocess_mode="livemax")
# One series per live process (prometheus adds the pid in multiprocess mode): sum or max them by kind.
PROCESS_RSS = Gauge(
    "process_memory_rss_bytes", "Resident memory of this process", ["kind"], multiprocess_mode="liveall"
)
WARNING_THRESHOLD = Gauge(
    "host_memory_warning_threshold_percent",
    "Host memory percent at which caches start shrinking",
    multiprocess_mode="max",
)
CRITICAL_THRESHOLD = Gauge(
    "host_memory_critical_threshold_percent", "Host memory percent counted as critical", multiprocess_mode="max"
)


def _own_rss() -> int:
    return psutil.Process().memory_info().rss


Subscriber = Callable[[str, float], None]


class MemoryMonitor:
    def __init__(
        self,
        *,
        warning_percent: float = 70.0,
        critical_percent: float = 90.0,
        read_percent: Callable[[], float] = lambda: psutil.virtual_memory().percent,
        read_rss: Callable[[], int] = _own_rss,
    ):
        if not 0 < warning_percent < critical_percent <= 100:
            raise ValueError("memory thresholds must satisfy 0 < warning < critical <= 100")
        self.warning_percent = warning_percent
        self.critical_percent = critical_percent
        self._read_percent = read_percent
        self._read_rss = read_rss
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
        WARNING_THRESHOLD.set(self.warning_percent)
        CRITICAL_THRESHOLD.set(self.critical_percent)
        PROCESS_RSS.labels(kind=processes.kind()).set(self._read_rss())
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
        """Checks at once, then every ``interval`` seconds in a daemon thread until :meth:`stop`.

        Safe to call again, e.g. in a process forked from one where it ran: the thread did not
        survive the fork and starts anew.
        """
        if self._thread and self._thread.is_alive():
            return
        self._stop.clear()

        def run():
            while True:
                try:
                    self.check()
                except Exception:
                    log.exception("memory_check_failed")
                if self._stop.wait(interval):
                    return

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
