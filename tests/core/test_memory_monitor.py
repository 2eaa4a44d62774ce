import pytest

from core.memory import CRITICAL, OK, WARNING, MemoryMonitor


class Reading:
    def __init__(self, percent):
        self.percent = percent

    def __call__(self):
        return self.percent


def test_it_reports_levels_at_the_configured_thresholds():
    reading = Reading(50.0)
    monitor = MemoryMonitor(warning_percent=70, critical_percent=90, read_percent=reading)

    assert monitor.check() == OK
    reading.percent = 70.0
    assert monitor.check() == WARNING
    reading.percent = 95.0
    assert monitor.check() == CRITICAL


def test_it_notifies_subscribers_only_under_pressure():
    reading = Reading(10.0)
    monitor = MemoryMonitor(read_percent=reading)
    calls = []
    monitor.subscribe(lambda level, percent: calls.append((level, percent)))

    monitor.check()
    reading.percent = 91.0
    monitor.check()

    assert calls == [(CRITICAL, 91.0)]


def test_it_keeps_notifying_the_other_subscribers_when_one_fails():
    monitor = MemoryMonitor(read_percent=Reading(80.0))
    calls = []
    monitor.subscribe(lambda level, percent: 1 / 0)
    monitor.subscribe(lambda level, percent: calls.append(level))

    monitor.check()

    assert calls == [WARNING]


def test_it_rejects_inverted_thresholds():
    with pytest.raises(ValueError, match="warning < critical"):
        MemoryMonitor(warning_percent=90, critical_percent=70)


def test_it_prunes_the_redis_fallback_under_memory_pressure():
    from core.memory import get_memory_monitor
    from core.redis import get_redis

    store = get_redis().fallback
    for i in range(10):
        store.set(f"k{i}", b"v")
    monitor = get_memory_monitor()
    original = monitor._read_percent
    monitor._read_percent = Reading(99.0)
    try:
        monitor.check()
    finally:
        monitor._read_percent = original
        monitor.level = OK

    assert len(store) == 5


def test_it_reads_the_real_host_memory():
    level = MemoryMonitor(warning_percent=99.8, critical_percent=99.9).check()

    assert level in (OK, WARNING, CRITICAL)
