"""core.task_watchdog: a hard time limit for the worker pools that enforce none."""

import threading

import pytest
from celery import signals
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

from core.task_watchdog import (
    EXIT_CODE,
    TaskWatchdog,
    _announce_hard_time_limits,
    pool_enforces_time_limits,
    task_overran,
)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def calls():
    return []


@pytest.fixture
def watchdog(clock, calls):
    return TaskWatchdog(
        grace=10, stop=lambda: calls.append("stop"), exit=lambda code: calls.append(("exit", code)), clock=clock
    )


@pytest.fixture
def heard():
    heard = []

    def receiver(sender, task_name, task_id, args, **kwargs):
        heard.append((task_name, task_id, args))

    task_overran.connect(receiver)
    yield heard
    task_overran.disconnect(receiver)


def test_it_leaves_tasks_within_their_limits_alone(watchdog, clock, calls):
    watchdog.task_started(task_id="a", name="answer", limit=120)
    clock.now += 119
    watchdog.check()
    watchdog.task_finished(task_id="a")
    clock.now += 1000
    watchdog.check()
    assert calls == []


def test_it_does_not_watch_a_task_without_a_limit(watchdog, clock, calls):
    watchdog.task_started(task_id="a", name="rollup", limit=None)
    clock.now += 10_000
    watchdog.check()
    assert calls == []


def test_it_stops_the_worker_when_a_task_outlives_its_limit(watchdog, clock, calls):
    watchdog.task_started(task_id="a", name="answer", limit=120, args=(7,))
    watchdog.task_started(task_id="b", name="answer", limit=120, args=(8,))
    clock.now += 60
    watchdog.task_finished(task_id="b")
    watchdog.task_started(task_id="c", name="answer", limit=120, args=(9,))
    clock.now += 60
    watchdog.check()
    watchdog.check()
    assert calls == ["stop"]  # stopped once, not exited: task c may still finish


def test_it_tells_receivers_which_task_overran(watchdog, clock, heard):
    def broken(**kwargs):
        raise RuntimeError("a receiver's own failure")

    task_overran.connect(broken)
    try:
        watchdog.task_started(task_id="a", name="answer", limit=5, args=(7,))
        watchdog.task_started(task_id="b", name="answer", limit=50, args=(8,))
        clock.now += 5
        watchdog.check()
    finally:
        task_overran.disconnect(broken)
    assert heard == [("answer", "a", (7,))]


def test_it_exits_once_only_overdue_tasks_are_left(watchdog, clock, calls):
    watchdog.task_started(task_id="a", name="answer", limit=5)
    watchdog.task_started(task_id="b", name="answer", limit=60)
    clock.now += 5
    watchdog.check()
    clock.now += 2
    watchdog.check()
    assert calls == ["stop"]
    watchdog.task_finished(task_id="b")
    watchdog.check()
    assert calls == ["stop", ("exit", EXIT_CODE)]


def test_it_exits_after_the_grace_even_while_other_tasks_run(watchdog, clock, calls):
    watchdog.task_started(task_id="a", name="answer", limit=5)
    watchdog.task_started(task_id="b", name="answer", limit=600)
    clock.now += 5
    watchdog.check()
    clock.now += 9.9
    watchdog.check()
    assert calls == ["stop"]
    clock.now += 0.1
    watchdog.check()
    assert calls == ["stop", ("exit", EXIT_CODE)]


def test_it_checks_in_a_thread_of_its_own():
    stopped, exited = threading.Event(), threading.Event()
    watchdog = TaskWatchdog(grace=10, stop=stopped.set, exit=lambda code: exited.set())
    watchdog.task_started(task_id="a", name="answer", limit=0.05)
    watchdog.start(interval=0.02)
    assert stopped.wait(5) and exited.wait(5)


@pytest.mark.parametrize(
    ("pool", "enforced"), [("prefork", True), ("processes", True), ("threads", False), ("solo", False)]
)
def test_it_watches_only_pools_that_enforce_no_time_limit(pool, enforced):
    assert pool_enforces_time_limits(pool) is enforced


def test_it_announces_a_prefork_childs_hard_time_limit_as_an_overrun(heard):
    from conversations.tasks import process_webhook_event

    signals.task_failure.connect(_announce_hard_time_limits)
    try:
        # As Celery's worker reports a child it killed at the hard limit, in its main process.
        for exception in (TimeLimitExceeded(120), SoftTimeLimitExceeded(), ValueError("a failure of its own")):
            signals.task_failure.send(
                sender=process_webhook_event, task_id="t-1", exception=exception, args=[7], kwargs={}
            )
    finally:
        signals.task_failure.disconnect(_announce_hard_time_limits)
    assert heard == [(process_webhook_event.name, "t-1", (7,))]
