"""Exceptions of every process (web, daphne, worker, beat), grouped on the errors page.

Three ways in, so that none slips through: every ERROR log record that carries an exception
(:class:`ErrorCaptureHandler`, in ``LOGGING``: what Django, Celery, daphne and our code log),
Django's ``got_request_exception`` and Celery's ``task_failure``.  One exception arriving by
more than one of them counts once.

Capturing never raises into its caller, and never writes in the caller's thread, whose
transaction may be broken or about to roll back.  Occurrences are added up in memory per
fingerprint; a background thread writes each kind at most once per ``interval`` (a second),
so an error storm costs one upsert per kind per second per process, with nothing lost.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import threading
import time
import traceback as tracebacks
import weakref
from dataclasses import dataclass, field
from datetime import datetime

from celery import signals as celery_signals
from django.core.signals import got_request_exception
from django.dispatch import receiver
from django.utils import timezone
from prometheus_client import Counter

from core import correlation, processes
from core.lazy import ProcessWide
from core.logging import get_logger
from monitoring.fingerprints import Fingerprint, fingerprint_of

log = get_logger(__name__)

ERRORS_CAPTURED = Counter("errors_captured_total", "Exceptions captured for the errors page", ["process"])
ERRORS_DROPPED = Counter(
    "errors_capture_dropped_total", "Exceptions the errors page could not take in (too many kinds waiting)"
)

# Marks an exception as counted, so the log line about a failure the signal already reported adds nothing.
_SEEN = "_error_capture_seen"
MAX_PENDING_KINDS = 1000
_KEEP_IDS = 10


@dataclass
class _Pending:
    fingerprint: Fingerprint
    message: str
    traceback: str
    first_seen: datetime
    last_seen: datetime
    count: int = 0
    process_kinds: set[str] = field(default_factory=set)
    correlation_ids: list[str] = field(default_factory=list)  # newest first

    def add_id(self, correlation_id: str | None) -> None:
        if correlation_id:
            ids = [correlation_id, *(i for i in self.correlation_ids if i != correlation_id)]
            self.correlation_ids = ids[:_KEEP_IDS]

    def merge_older(self, older: _Pending) -> None:
        """Takes back what a failed write held (older occurrences than this entry's)."""
        self.count += older.count
        self.first_seen = min(self.first_seen, older.first_seen)
        self.process_kinds |= older.process_kinds
        self.correlation_ids = list(dict.fromkeys([*self.correlation_ids, *older.correlation_ids]))[:_KEEP_IDS]


class ErrorRecorder:
    def __init__(self, *, interval: float = 1.0, background: bool = True):
        self.interval = interval
        self.background = background
        self._lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}
        self._last_write: dict[str, float] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        # A forked child (a prefork pool process) starts empty, with a lock nobody holds.
        method = weakref.WeakMethod(self._forget)
        os.register_at_fork(after_in_child=lambda: (forget := method()) and forget())

    def _forget(self) -> None:
        self._lock = threading.Lock()
        self._pending, self._last_write = {}, {}
        self._wake = threading.Event()
        self._thread = None

    def capture(self, exc: BaseException, *, correlation_id: str | None = None, tb=None) -> None:
        """Counts one occurrence of ``exc``; never raises."""
        try:
            self._capture(exc, correlation_id or correlation.current(), tb)
        except Exception:  # noqa: BLE001 - the caller is already handling a failure of its own
            ERRORS_DROPPED.inc()

    def _capture(self, exc: BaseException, correlation_id: str | None, tb) -> None:
        if getattr(exc, _SEEN, False) or threading.current_thread() is self._thread:
            # Counted already, or the writer's own failure: it logs that, and must not feed on it.
            return
        with contextlib.suppress(AttributeError, TypeError):  # an exception class with __slots__ stays unmarked
            setattr(exc, _SEEN, True)
        if tb is not None and exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        fingerprint = fingerprint_of(exc)
        kind = processes.kind()
        ERRORS_CAPTURED.labels(process=kind).inc()
        now = timezone.now()
        with self._lock:
            entry = self._pending.get(fingerprint.digest)
            if entry is None:
                if len(self._pending) >= MAX_PENDING_KINDS:
                    ERRORS_DROPPED.inc()
                    return
                entry = self._pending[fingerprint.digest] = _Pending(
                    fingerprint=fingerprint,
                    message="",
                    # Formatted once per batch: a storm of one kind does not format every occurrence.
                    traceback="".join(tracebacks.format_exception(exc)),
                    first_seen=now,
                    last_seen=now,
                )
            entry.count += 1
            entry.last_seen = now
            entry.message = _message_of(exc)
            entry.process_kinds.add(kind)
            entry.add_id(correlation_id)
            due = time.monotonic() - self._last_write.get(fingerprint.digest, -math.inf) >= self.interval
        if self.background:
            self._ensure_writer()
            if due:
                self._wake.set()

    def flush(self, *, force: bool = False) -> int:
        """Writes each waiting kind last written at least ``interval`` ago (every one with ``force``).

        Returns how many kinds were written; a kind the database refused waits for the next flush.
        """
        from monitoring.services import error_kind_record

        now = time.monotonic()
        with self._lock:
            due = [d for d in self._pending if force or now - self._last_write.get(d, -math.inf) >= self.interval]
            batch = [self._pending.pop(d) for d in due]
            for digest in due:
                self._last_write[digest] = now
            # Kinds quiet for longer than the interval need no memory of their last write.
            self._last_write = {d: t for d, t in self._last_write.items() if now - t < self.interval or d in due}
        written, failed = 0, []
        for entry in batch:
            try:
                error_kind_record(
                    fingerprint=entry.fingerprint,
                    message=entry.message,
                    traceback=entry.traceback,
                    count=entry.count,
                    first_seen=entry.first_seen,
                    last_seen=entry.last_seen,
                    process_kinds=entry.process_kinds,
                    correlation_ids=entry.correlation_ids,
                )
                written += 1
            except Exception as exc:  # noqa: BLE001 - kept for the next flush
                failed.append(entry)
                reason = f"{type(exc).__name__}: {exc}"[:300]
        if failed:
            self._put_back(failed)
            # A warning without the exception: an ERROR with one would come back to this recorder.
            log.warning("error_capture_write_failed", kinds=len(failed), reason=reason)
        return written

    def _put_back(self, entries: list[_Pending]) -> None:
        with self._lock:
            for entry in entries:
                newer = self._pending.get(entry.fingerprint.digest)
                if newer is not None:
                    newer.merge_older(entry)
                elif len(self._pending) < MAX_PENDING_KINDS:
                    self._pending[entry.fingerprint.digest] = entry
                else:
                    ERRORS_DROPPED.inc(entry.count)

    def pending_count(self) -> int:
        with self._lock:
            return sum(entry.count for entry in self._pending.values())

    def _ensure_writer(self) -> None:
        thread = self._thread
        if thread is not None and thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._write_forever, name="error-capture", daemon=True)
                self._thread.start()

    def _write_forever(self) -> None:
        from django.apps import apps
        from django.db import connections

        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            if not apps.ready or not self.pending_count():
                continue
            try:
                self.flush()
            except Exception as exc:  # noqa: BLE001 - the writer must outlive anything a flush meets
                # Without the exception itself: an ERROR with one would come back to this recorder.
                log.warning("error_capture_flush_failed", reason=f"{type(exc).__name__}: {exc}"[:300])
            finally:
                # This thread's own connections: back to the pool, or closed, between flushes.
                connections.close_all()


def _message_of(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # noqa: BLE001 - a __str__ that fails is no reason to lose the occurrence
        return f"<{type(exc).__name__} with an unprintable message>"


def _enabled() -> bool:
    from django.conf import settings

    return bool(getattr(settings, "ERROR_CAPTURE_ENABLED", False))


_recorder: ProcessWide[ErrorRecorder] = ProcessWide(ErrorRecorder)


def get_error_recorder() -> ErrorRecorder:
    return _recorder.get()


def capture(exc: BaseException, *, correlation_id: str | None = None, tb=None) -> None:
    """Counts ``exc`` on the errors page, when capture is on; never raises."""
    try:
        if _enabled():
            get_error_recorder().capture(exc, correlation_id=correlation_id, tb=tb)
    except Exception:  # noqa: BLE001 - see ErrorRecorder.capture
        ERRORS_DROPPED.inc()


class ErrorCaptureHandler(logging.Handler):
    """Counts the exception of every ERROR (or worse) record that carries one, from any logger."""

    def __init__(self, level: int | str = logging.ERROR):
        super().__init__(level)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            exc = _exception_of(record)
            if exc is not None:
                event = record.msg if isinstance(record.msg, dict) else {}
                capture(exc, correlation_id=event.get("correlation_id"))
        except Exception:  # noqa: BLE001 - a log call must never fail because of this handler
            ERRORS_DROPPED.inc()


def _exception_of(record: logging.LogRecord) -> BaseException | None:
    if record.exc_info and record.exc_info[1] is not None:
        return record.exc_info[1]
    # structlog's records keep exc_info in the event dict until a formatter renders it.
    info = record.msg.get("exc_info") if isinstance(record.msg, dict) else None
    if info is True:
        return sys.exc_info()[1]
    if isinstance(info, BaseException):
        return info
    if isinstance(info, tuple) and len(info) == 3:
        return info[1]
    return None


@receiver(got_request_exception)
def _request_failed(sender=None, request=None, **kwargs):
    exc = sys.exc_info()[1]
    if exc is not None:
        capture(exc, correlation_id=getattr(request, "correlation_id", None))


@celery_signals.task_failure.connect
def _task_failed(sender=None, exception=None, traceback=None, **kwargs):
    if exception is not None:
        capture(exception, tb=traceback)
