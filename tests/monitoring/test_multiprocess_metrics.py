"""Metrics of every process, merged: what /metrics and the dashboards read."""

import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
from prometheus_client import Counter, Gauge

from monitoring import multiprocess

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-token-for-tests"


@pytest.fixture
def metrics_client(client, settings):
    settings.DEBUG = False
    settings.METRICS_TOKEN = TOKEN
    return lambda: client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()


def _run_child(code: str, *, wait: bool = True):
    """Another process writing to the same metrics directory, as a worker or daphne would."""
    script = "import sys\nfrom monitoring import multiprocess\nmultiprocess.enable(sys.argv[1])\n" + textwrap.dedent(
        code
    )
    args = [sys.executable, "-c", script, str(multiprocess.directory())]
    if wait:
        return subprocess.run(args, cwd=ROOT, check=True, capture_output=True, text=True, timeout=30)
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def _name() -> str:
    return f"test_{uuid.uuid4().hex[:10]}"


def _value(name: str, sample: str | None = None, labels: dict | None = None) -> float | None:
    for family in multiprocess.collect():
        for s in family.samples:
            if s.name == (sample or name) and (labels is None or s.labels == labels):
                return s.value
    return None


def _files_of(identifier: str) -> list[Path]:
    return [f for f in multiprocess.directory().glob("*.db") if f.name.endswith(f"_{identifier}.db")]


def test_it_runs_in_multiprocess_mode_in_every_process_the_settings_start():
    assert multiprocess.is_enabled()
    from core.redis import BREAKER_STATE

    assert BREAKER_STATE._value._multiprocess


def test_it_shows_the_sum_of_two_processes_at_metrics(metrics_client):
    name = _name()
    Counter(name, "shared").inc(3)
    _run_child(f"from prometheus_client import Counter\nCounter({name!r}, 'shared').inc(4)\n")

    assert f"{name}_total 7.0" in metrics_client()


def test_it_merges_histograms_across_processes(metrics_client):
    from prometheus_client import Histogram

    name = _name()
    Histogram(name, "h", buckets=(1, 2)).observe(0.5)
    _run_child(f"from prometheus_client import Histogram\nHistogram({name!r}, 'h', buckets=(1, 2)).observe(1.5)\n")

    body = metrics_client()
    assert f'{name}_bucket{{le="1.0"}} 1.0' in body
    assert f'{name}_bucket{{le="2.0"}} 2.0' in body
    assert f"{name}_count 2.0" in body


def test_it_retires_a_dead_process_and_keeps_its_counts():
    name = _name()
    Counter(name, "shared").inc(3)
    child = _run_child(
        f"""
        from prometheus_client import Counter
        Counter({name!r}, 'shared').inc(4)
        print(multiprocess.process_identifier())
        """
    )
    identifier = child.stdout.strip()
    assert _files_of(identifier)

    assert identifier in multiprocess.sweep()

    assert _files_of(identifier) == []
    assert (multiprocess.directory() / f"counter_{multiprocess.ARCHIVE}.db").exists()
    assert _value(name, f"{name}_total") == 7.0


def test_it_drops_the_live_gauges_of_a_dead_process():
    name = _name()
    Gauge(name, "in flight", multiprocess_mode="livesum").set(2)
    child = _run_child(
        f"from prometheus_client import Gauge\nGauge({name!r}, 'x', multiprocess_mode='livesum').set(5)\n"
    )
    assert _value(name) == 7.0

    multiprocess.sweep()

    assert _value(name) == 2.0
    assert child.returncode == 0


def _sleeping_child(name: str):
    child = _run_child(
        f"""
        from prometheus_client import Counter
        Counter({name!r}, 'x').inc(5)
        print(multiprocess.process_identifier(), flush=True)
        import time
        time.sleep(60)
        """,
        wait=False,
    )
    return child, child.stdout.readline().strip()


def test_it_leaves_a_running_process_alone_and_retires_it_once_killed():
    name = _name()
    child, identifier = _sleeping_child(name)
    try:
        assert identifier not in multiprocess.sweep()
        assert _files_of(identifier)
    finally:
        child.kill()
        child.wait(timeout=10)

    assert identifier in multiprocess.sweep()
    assert _value(name, f"{name}_total") == 5.0


def _keys_of(identifier: str) -> list[str]:
    from prometheus_client.mmap_dict import MmapedDict

    (file,) = (f for f in _files_of(identifier) if f.name.startswith("counter_"))
    return [key for key, *_ in MmapedDict.read_all_values_from_file(str(file))]


def test_it_keeps_a_live_process_when_the_clock_is_corrected(monkeypatch):
    import psutil._pslinux

    name = _name()
    child, identifier = _sleeping_child(name)
    try:
        # What NTP stepping the clock by a second does to the boot time the kernel reports from then on.
        boot_time = psutil._pslinux.boot_time()
        monkeypatch.setattr(psutil._pslinux, "boot_time", lambda: boot_time + 1)

        assert identifier not in multiprocess.sweep()
        assert _files_of(identifier)
    finally:
        child.kill()
        child.wait(timeout=10)


def test_it_judges_a_process_named_by_its_start_since_1970_with_a_tolerance():
    from prometheus_client.mmap_dict import MmapedDict

    name = _name()
    child, identifier = _sleeping_child(name)
    pid, host, _ = identifier.split("-", 2)
    # As an earlier release (and a system without /proc) names a process: hundredths of a second since 1970.
    epoch_named = f"{pid}-{host}-{round(psutil.Process(int(pid)).create_time() * 100) + 3}"
    counts = MmapedDict(str(multiprocess.directory() / f"counter_{epoch_named}.db"))
    counts.write_value(_keys_of(identifier)[0], 4.0, 0.0)
    counts.close()
    try:
        assert epoch_named not in multiprocess.sweep()
    finally:
        child.kill()
        child.wait(timeout=10)

    assert {epoch_named, identifier} <= set(multiprocess.sweep())
    assert _value(name, f"{name}_total") == 9.0


def test_it_retires_a_gunicorn_worker_when_it_exits():
    from linebot_project import gunicorn_conf

    child = _run_child(
        """
        from prometheus_client import Counter
        Counter('test_gunicorn_worker', 'x').inc()
        print(multiprocess.process_identifier())
        """
    )
    identifier = child.stdout.strip()

    gunicorn_conf.child_exit(server=None, worker=SimpleNamespace(pid=int(identifier.split("-")[0])))

    assert _files_of(identifier) == []


def test_it_retires_a_celery_pool_process_on_shutdown():
    name = _name()
    child = _run_child(
        f"""
        import os
        os.environ["DJANGO_SETTINGS_MODULE"] = "linebot_project.settings.test"
        import django
        django.setup()
        from celery import signals
        from prometheus_client import Counter
        Counter({name!r}, 'x').inc(2)
        print(multiprocess.process_identifier())
        signals.worker_process_shutdown.send(sender=None, pid=os.getpid(), exitcode=0)
        """
    )
    identifier = child.stdout.strip().splitlines()[-1]

    assert _files_of(identifier) == []
    assert _value(name, f"{name}_total") == 2.0


def test_it_names_pid_host_and_start_time_in_the_process_identifier():
    pid, host, start = multiprocess.process_identifier().split("-", 2)

    assert int(pid) > 0 and host and start.isdigit()
