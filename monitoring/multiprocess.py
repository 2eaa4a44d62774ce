"""Prometheus metrics of every process of a deployment, merged: prometheus_client's multiprocess mode.

Each process (gunicorn workers, daphne, Celery workers and their pool children, the dashboard
ticker) writes its metrics to small mmap files in ``PROMETHEUS_MULTIPROC_DIR``; ``/metrics`` and
the dashboard ticker read all of them through :func:`collect`.  Producers keep using plain
``prometheus_client`` objects; an increment stays an in-memory write.

The settings module calls :func:`enable` before any metric exists, because prometheus_client picks
its value store when the first metric is made.  This module therefore imports nothing from Django.

File names carry ``<pid>-<host>-<start>`` (the start in clock ticks since boot) instead of the bare
pid: the containers of one deployment share the directory but not a pid namespace, and a restarted
container reuses pids.

A process that ended is *retired*: its counters, histograms and summaries (and gauges in the
``sum``, ``max``, ``min`` and ``mostrecent`` modes) are merged into ``*_archive.db`` files, so
totals never go backwards, and its files are deleted; its other gauges are dropped, since a dead
process has no current value.  Gunicorn's ``child_exit`` hook and Celery's
``worker_process_shutdown`` signal retire processes as they end, and :func:`sweep` (run by
``/metrics`` and the ticker) retires those that died without a word (SIGKILL, OOM).  Readers hold a
shared lock and retiring an exclusive one, so no reader sees a process counted twice or not at all.
"""

from __future__ import annotations

import fcntl
import os
import re
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

ENV = "PROMETHEUS_MULTIPROC_DIR"
ARCHIVE = "archive"
LOCK_FILE = ".lock"

_SUM_PREFIXES = {"counter", "histogram", "summary", "gauge_sum"}
_MERGED_GAUGES = {"gauge_max": max, "gauge_min": min}
_IDENTIFIER = re.compile(r"^(?P<pid>\d+)(?:-(?P<host>[A-Za-z0-9.]+)-(?P<start>\d+))?$")

_PROC = os.path.isdir("/proc/self")
# A start above this is hundredths of a second since 1970 (no /proc, or a name from an earlier release),
# not ticks since boot, which would take 30 years of uptime to get there.
_EPOCH_START = 10**11
# How far such a start may drift with the clock's corrections and still name the same process.
_EPOCH_TOLERANCE = 500
_HOST = re.sub(r"[^A-Za-z0-9.]", ".", socket.gethostname())[:64] or "localhost"
_cached = {"pid": None, "identifier": ""}


def process_identifier() -> str:
    """``<pid>-<host>-<start>``, computed once per process (prometheus_client asks on every write)."""
    pid = os.getpid()
    if _cached["pid"] != pid:
        _cached["identifier"] = f"{pid}-{_HOST}-{_start_time(pid)}"
        _cached["pid"] = pid
    return _cached["identifier"]


def _start_time(pid: int) -> int:
    """When ``pid`` started: clock ticks since boot, from Linux's ``/proc/<pid>/stat``.

    Not psutil's ``create_time()``: it adds the boot time the kernel reports at the moment of asking,
    which moves when the clock is corrected (NTP, a resumed VM), so a process started later would see a
    live one's start differently and sweep it as dead.  Without ``/proc``, hundredths of a second since
    the epoch, judged with a tolerance (:func:`_alive`).
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            # The command name, in parentheses, may hold spaces: fields are counted after its closing one.
            return int(handle.read().rpartition(b")")[2].split()[19])
    except (FileNotFoundError, ProcessLookupError):
        if _PROC:
            raise psutil.NoSuchProcess(pid) from None
        return round(psutil.Process(pid).create_time() * 100)


def enable(path: str | Path) -> None:
    """Turns multiprocess mode on for this process and the ones it starts; call before any metric exists."""
    from prometheus_client import values

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(path)
    if not getattr(values.ValueClass, "_linebot", False):
        value_class = values.MultiProcessValue(process_identifier)
        value_class._linebot = True
        values.ValueClass = value_class


def directory() -> Path | None:
    path = os.environ.get(ENV)
    return Path(path) if path else None


def is_enabled() -> bool:
    from prometheus_client import values

    return directory() is not None and bool(getattr(values.ValueClass, "_multiprocess", False))


@contextmanager
def _locked(path: Path, mode: int) -> Iterator[None]:
    with open(path / LOCK_FILE, "a+b") as handle:
        fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class ProcessFilesCollector:
    """The metrics of every process that wrote to ``path``, merged as prometheus_client does."""

    def __init__(self, path: Path):
        self.path = path

    def collect(self):
        from prometheus_client.multiprocess import MultiProcessCollector

        with _locked(self.path, fcntl.LOCK_SH):
            files = [str(f) for f in self.path.glob("*.db")]
            return list(MultiProcessCollector.merge(files, accumulate=True))


def registry():
    """A registry to expose: every process's metrics when enabled, else this process's own."""
    from prometheus_client import REGISTRY, CollectorRegistry

    path = directory()
    if path is None or not is_enabled():
        return REGISTRY
    merged = CollectorRegistry(auto_describe=False)
    merged.register(ProcessFilesCollector(path))
    return merged


def collect() -> list:
    """Metric families (``prometheus_client.Metric``) of every process."""
    return list(registry().collect())


# --- retiring processes that ended ---------------------------------------------------------------
def _split(file: Path) -> tuple[str, str]:
    """``gauge_livesum_123-web-456.db`` -> (``gauge_livesum``, ``123-web-456``)."""
    prefix, _, identifier = file.name[: -len(".db")].rpartition("_")
    return prefix, identifier


def _alive(identifier: str) -> bool:
    match = _IDENTIFIER.match(identifier)
    if match is None:
        return True  # not ours to judge (the archive, or a name we do not understand)
    if match["host"] is not None and match["host"] != _HOST:
        return True  # another container's process: its own host's sweep judges it
    pid = int(match["pid"])
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        if match["start"] is None:
            return True
        start = int(match["start"])
        if start >= _EPOCH_START:
            return abs(process.create_time() * 100 - start) <= _EPOCH_TOLERANCE
        return _start_time(pid) == start
    except psutil.NoSuchProcess:
        return False


def _merge_into_archive(path: Path, prefix: str, dead: Path) -> None:
    from prometheus_client.mmap_dict import MmapedDict

    if prefix in _SUM_PREFIXES:
        combine = lambda old, new: (old[0] + new[0], 0.0)  # noqa: E731
    elif prefix in _MERGED_GAUGES:
        pick = _MERGED_GAUGES[prefix]
        combine = lambda old, new: (pick(old[0], new[0]), 0.0)  # noqa: E731
    elif prefix == "gauge_mostrecent":
        combine = lambda old, new: new if new[1] >= old[1] else old  # noqa: E731
    else:
        return  # all/live* gauges: a dead process has no current value

    archive = path / f"{prefix}_{ARCHIVE}.db"
    merged: dict[str, tuple[float, float]] = {}
    if archive.exists():
        merged = {key: (value, ts) for key, value, ts, _ in MmapedDict.read_all_values_from_file(str(archive))}
    for key, value, ts, _ in MmapedDict.read_all_values_from_file(str(dead)):
        merged[key] = combine(merged[key], (value, ts)) if key in merged else (value, ts)

    # Written aside and renamed over the archive: a reader never sees a half-written file.
    fd, tmp_name = tempfile.mkstemp(dir=path, prefix=f".{prefix}-", suffix=".tmp")
    os.close(fd)
    os.unlink(tmp_name)
    tmp = MmapedDict(tmp_name)
    try:
        for key, (value, ts) in merged.items():
            tmp.write_value(key, value, ts)
    finally:
        tmp.close()
    os.replace(tmp_name, archive)


def _retire_files(path: Path, identifiers: set[str]) -> list[str]:
    retired = set()
    for file in sorted(path.glob("*.db")):
        prefix, identifier = _split(file)
        if identifier in identifiers:
            _merge_into_archive(path, prefix, file)
            file.unlink()
            retired.add(identifier)
    return sorted(retired)


def retire(identifier: str, path: Path | None = None) -> list[str]:
    """Retires one process, alive or not (a process retiring itself on the way out)."""
    path = path or directory()
    if path is None:
        return []
    with _locked(path, fcntl.LOCK_EX):
        return _retire_files(path, {identifier})


def sweep(path: Path | None = None) -> list[str]:
    """Retires every process of this host that ended; returns their identifiers."""
    path = path or directory()
    if path is None or not path.is_dir():
        return []
    with _locked(path, fcntl.LOCK_EX):
        identifiers = {_split(file)[1] for file in path.glob("*.db")} - {ARCHIVE}
        dead = {identifier for identifier in identifiers if not _alive(identifier)}
        return _retire_files(path, dead) if dead else []
