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


def sample(name, **labels):
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels)


@pytest.fixture
def process_kind():
    """Lets a test say which kind of process this is, and puts the test process back afterwards."""
    from core import processes

    before = processes.kind()
    yield processes.set_kind
    processes.set_kind(before)


def test_it_exports_the_resident_memory_of_this_process_under_its_kind(process_kind):
    process_kind("beat")

    MemoryMonitor(read_percent=Reading(10.0), read_rss=lambda: 123_456_789).check()

    assert sample("process_memory_rss_bytes", kind="beat") == 123_456_789


def test_it_reads_the_real_resident_memory_of_this_process(process_kind):
    process_kind("worker")

    MemoryMonitor(read_percent=Reading(10.0)).check()

    assert sample("process_memory_rss_bytes", kind="worker") > 10 * 1024 * 1024


def test_it_exports_its_thresholds_for_dashboards_and_alert_rules():
    MemoryMonitor(warning_percent=65, critical_percent=85, read_percent=Reading(10.0)).check()

    assert sample("host_memory_warning_threshold_percent") == 65
    assert sample("host_memory_critical_threshold_percent") == 85


def test_it_refuses_an_unknown_process_kind():
    from core import processes

    with pytest.raises(ValueError, match="unknown process kind 'cron'"):
        processes.set_kind("cron")


def test_it_labels_a_started_process_and_watches_its_memory(process_kind):
    import time

    from core.memory import get_memory_monitor
    from core.startup import start_process

    monitor = get_memory_monitor()
    # An in-process test worker of an earlier test may have started it already.
    monitor.stop()
    if monitor._thread is not None:
        monitor._thread.join(timeout=5)
    try:
        start_process("daphne")

        deadline = time.monotonic() + 5
        while not sample("process_memory_rss_bytes", kind="daphne") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert monitor._thread.is_alive()
        assert sample("process_memory_rss_bytes", kind="daphne") > 0
    finally:
        monitor.stop()
