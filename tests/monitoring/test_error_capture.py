"""Exceptions from logs, requests and tasks are grouped by fingerprint and written at most once a second per kind."""

import json
import logging
import threading
from datetime import timedelta

import pytest
import structlog
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone

from core import correlation, processes
from core.errors import ValidationError
from linebot_project.celery import app as celery_app
from monitoring import error_capture
from monitoring.error_capture import ErrorRecorder
from monitoring.fingerprints import fingerprint_of
from monitoring.models import ErrorKind
from monitoring.selectors import recent_error_kinds
from monitoring.services import error_kind_record

from .conftest import metric

pytestmark = pytest.mark.django_db
log = structlog.get_logger("tests.error_capture")


def caught(function, *args) -> BaseException:
    try:
        function(*args)
    except Exception as exc:
        return exc
    raise AssertionError("it did not raise")


def look_up(user_id):
    if user_id % 2:
        raise LookupError(f"user {user_id} not found")
    raise LookupError(f"no user {user_id}")  # another line of the same function


def look_elsewhere(user_id):
    raise LookupError(f"user {user_id} not found")


def parse(text):
    return json.loads(text)


@pytest.fixture
def recorder(settings, monkeypatch):
    """Capture on, into a recorder that writes only when the test flushes it, in the test's transaction."""
    settings.ERROR_CAPTURE_ENABLED = True
    # As the web process (an in-process test worker of an earlier test may have labelled this one).
    monkeypatch.setattr(processes, "_kind", processes.WEB)
    recorder = ErrorRecorder(interval=60, background=False)
    monkeypatch.setattr(error_capture._recorder, "get", lambda: recorder)
    return recorder


# --- fingerprints ---------------------------------------------------------------------------------------------------


def test_it_counts_one_failure_as_one_kind_whatever_its_message_or_line():
    first, second = caught(look_up, 1), caught(look_up, 2)

    assert fingerprint_of(first) == fingerprint_of(second)
    assert fingerprint_of(first).location.startswith("tests.monitoring.test_error_capture:look_up < ")
    assert fingerprint_of(first).exception_type == "LookupError"


def test_it_counts_another_place_or_another_type_as_another_kind():
    here = fingerprint_of(caught(look_up, 1))

    assert fingerprint_of(caught(look_elsewhere, 1)).digest != here.digest
    assert fingerprint_of(caught(parse, "{")).digest != here.digest


def test_it_leaves_out_frames_of_libraries():
    location = fingerprint_of(caught(parse, "{")).location

    assert location.split(" < ")[0] == "tests.monitoring.test_error_capture:parse"
    assert "json" not in location
    assert fingerprint_of(caught(parse, "{")).exception_type == "json.decoder.JSONDecodeError"


# --- the recorder ---------------------------------------------------------------------------------------------------


def test_it_writes_a_storm_of_one_error_once_with_its_count_and_latest_ids(recorder):
    for i in range(50):
        recorder.capture(caught(look_up, i), correlation_id=f"storm-{i}")

    assert recorder.flush() == 1

    kind = ErrorKind.objects.get()
    assert kind.count == 50
    assert kind.correlation_ids == [f"storm-{i}" for i in range(49, 39, -1)]
    assert kind.process_kinds == ["web"]
    assert kind.message == "user 49 not found"
    assert ", in look_up\n" in kind.traceback


def test_it_writes_a_kind_at_most_once_per_interval_and_loses_nothing(recorder):
    recorder.capture(caught(look_up, 1))
    assert recorder.flush() == 1
    for i in range(5):
        recorder.capture(caught(look_up, i))

    assert recorder.flush() == 0
    assert ErrorKind.objects.get().count == 1
    assert recorder.flush(force=True) == 1
    assert ErrorKind.objects.get().count == 6


def test_it_writes_in_the_background_within_the_interval(settings, transactional_db, monkeypatch):
    settings.ERROR_CAPTURE_ENABLED = True
    recorder = ErrorRecorder(interval=0.1)
    monkeypatch.setattr(error_capture._recorder, "get", lambda: recorder)

    error_capture.capture(caught(look_up, 1), correlation_id="background-1")

    deadline = timezone.now() + timedelta(seconds=5)
    while not ErrorKind.objects.exists() and timezone.now() < deadline:
        threading.Event().wait(0.05)
    assert ErrorKind.objects.get().correlation_ids == ["background-1"]
    assert recorder._thread.name == "error-capture"


def test_it_keeps_what_the_database_refused_for_the_next_flush_and_raises_nothing(recorder):
    recorder.capture(caught(look_up, 1), correlation_id="kept-1")

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        # A caller whose transaction is broken: this is why capture never writes in its caller's thread.
        ErrorKind.objects.create(fingerprint="x", first_seen=timezone.now(), last_seen=timezone.now())
        with pytest.raises(IntegrityError):
            ErrorKind.objects.create(fingerprint="x", first_seen=timezone.now(), last_seen=timezone.now())
        assert recorder.flush() == 0
        raise Rollback

    assert recorder.pending_count() == 1
    assert recorder.flush(force=True) == 1
    assert ErrorKind.objects.get().correlation_ids == ["kept-1"]


def test_it_still_counts_an_exception_that_cannot_say_what_it_is(recorder):
    class Unprintable(Exception):
        def __str__(self):
            raise TypeError("no")

    recorder.capture(Unprintable())
    recorder.flush()

    assert ErrorKind.objects.get().message == "<Unprintable with an unprintable message>"


def test_it_counts_a_new_kind_once_for_the_dashboard(recorder):
    before = metric("errors_new_kinds_total")

    recorder.capture(caught(look_up, 1))
    recorder.flush()
    recorder.capture(caught(look_up, 2))
    recorder.flush(force=True)

    assert metric("errors_new_kinds_total") == before + 1


def test_it_captures_nothing_while_capture_is_off(recorder, settings):
    settings.ERROR_CAPTURE_ENABLED = False

    error_capture.capture(caught(look_up, 1))

    assert recorder.pending_count() == 0


# --- the ways in ----------------------------------------------------------------------------------------------------


def test_it_captures_an_error_logged_with_its_exception_with_the_correlation_id(recorder):
    correlation.bind("logged-1")
    try:
        try:
            look_up(1)
        except LookupError:
            log.exception("lookup_failed")
    finally:
        correlation.clear()
    recorder.flush()

    assert ErrorKind.objects.get().correlation_ids == ["logged-1"]


def test_it_captures_a_library_error_logged_through_the_standard_library(recorder):
    try:
        parse("{")
    except ValueError:
        logging.getLogger("some.library").error("could not parse", exc_info=True)

    assert recorder.pending_count() == 1


def test_it_captures_neither_error_lines_without_an_exception_nor_warnings_with_one(recorder):
    log.error("no_exception_here")
    try:
        look_up(1)
    except LookupError:
        log.warning("only_a_warning", exc_info=True)

    assert recorder.pending_count() == 0


@pytest.mark.urls("tests.monitoring.failing_urls")
def test_it_counts_a_failed_request_once_with_its_correlation_id(recorder):
    response = Client(raise_request_exception=False).get("/broken", HTTP_X_REQUEST_ID="request-1")

    assert response.status_code == 500
    assert recorder.pending_count() == 1  # logged by Django and signalled: once
    recorder.flush()
    kind = ErrorKind.objects.get()
    assert (kind.exception_type, kind.correlation_ids) == ("RuntimeError", ["request-1"])
    assert kind.location == "tests.monitoring.failing_urls:broken_view"


@celery_app.task(name="tests.monitoring.explode")
def explode():
    raise ZeroDivisionError("the task broke")


def test_it_counts_a_failed_task_once(recorder):
    correlation.bind("task-1")
    try:
        explode.apply(throw=False)
    finally:
        correlation.clear()

    assert recorder.pending_count() == 1  # signalled by Celery and logged by it: once
    recorder.flush()
    assert ErrorKind.objects.get().correlation_ids == ["task-1"]


# --- the upsert -----------------------------------------------------------------------------------------------------


def record(fingerprint, *, count=1, at=None, kinds=("web",), ids=()):
    at = at or timezone.now()
    return error_kind_record(
        fingerprint=fingerprint,
        message=f"seen {count} times",
        traceback="Traceback ...",
        count=count,
        first_seen=at,
        last_seen=at,
        process_kinds=kinds,
        correlation_ids=list(ids),
    )


def test_it_adds_up_exactly_what_processes_record_for_one_kind_at_once(transactional_db):
    fingerprint = fingerprint_of(caught(look_up, 1))
    created = []

    def write():
        created.append(record(fingerprint, count=5))
        connection.close()

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert ErrorKind.objects.get().count == 40
    assert created.count(True) == 1


@pytest.mark.parametrize("vendor", ["postgresql", "portable"])
def test_it_merges_times_ids_and_process_kinds_on_a_write(vendor, monkeypatch):
    if vendor == "portable":
        monkeypatch.setattr(connection, "vendor", "sqlite")
    fingerprint = fingerprint_of(caught(look_up, 1))
    now = timezone.now()

    assert record(fingerprint, at=now, kinds=["worker"], ids=["b", "a"]) is True
    assert record(fingerprint, at=now - timedelta(hours=1), kinds=["web"], ids=["c"]) is False
    assert (
        record(fingerprint, count=3, at=now + timedelta(seconds=1), kinds=["beat", "worker"], ids=["d", "a"]) is False
    )

    kind = ErrorKind.objects.get()
    assert kind.count == 5
    assert kind.first_seen == now - timedelta(hours=1)
    assert kind.last_seen == now + timedelta(seconds=1)
    assert kind.message == "seen 3 times"
    assert kind.process_kinds == ["beat", "web", "worker"]
    assert kind.correlation_ids == ["d", "a", "c", "b"]  # latest written first


def test_it_keeps_only_the_latest_ten_correlation_ids():
    fingerprint = fingerprint_of(caught(look_up, 1))
    record(fingerprint, ids=[f"old-{i}" for i in range(8)])

    record(fingerprint, ids=[f"new-{i}" for i in range(4)])

    assert ErrorKind.objects.get().correlation_ids == [*(f"new-{i}" for i in range(4)), *(f"old-{i}" for i in range(6))]


def test_it_refuses_a_record_without_occurrences():
    with pytest.raises(ValidationError, match="at least one occurrence"):
        record(fingerprint_of(caught(look_up, 1)), count=0)


def test_it_lists_as_recent_the_kinds_first_seen_since_newest_first():
    now = timezone.now()
    record(fingerprint_of(caught(look_up, 1)), at=now - timedelta(hours=2))
    record(fingerprint_of(caught(look_elsewhere, 1)), at=now - timedelta(minutes=5))
    record(fingerprint_of(caught(parse, "{")), at=now)

    recent = recent_error_kinds(now - timedelta(minutes=10))

    assert [kind.exception_type for kind in recent] == ["json.decoder.JSONDecodeError", "LookupError"]
    assert recent[1].location.startswith("tests.monitoring.test_error_capture:look_elsewhere")
