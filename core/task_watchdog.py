"""A hard time limit for Celery workers whose pool enforces none (threads, solo).

A prefork child whose task outlives its hard time limit is killed, and what it held goes with it: its database
sessions, with their advisory locks, and its task. A thread cannot be killed, so Celery's threads pool ignores
time limits: a task stuck past its limit would keep its thread, its session and its locks for as long as the
process lives, and nothing else could take its work over.

This watchdog gives such a worker the same end one level up. When a task outlives its hard limit the process
stops taking work (Celery's warm shutdown, as SIGTERM asks) so that the other tasks under way can finish; once
only overdue tasks are left, or ``grace`` seconds later, it exits. Its sessions close, which releases their
locks, and the broker puts back every message it had not acknowledged (``task_acks_late``). The process
supervisor (compose's restart policy, systemd) starts it again, and the task runs anew there, as after a
SIGKILL. gunicorn treats a stuck threaded worker the same way.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.dispatch import Signal
from prometheus_client import Counter

from core.logging import get_logger

log = get_logger(__name__)

# What a supervisor sees: not a clean exit (EX_SOFTWARE), so that one restarting only failed processes does.
EXIT_CODE = 70
# The pools whose tasks run in the worker's own process, where Celery enforces no time limit.
UNLIMITED_POOLS = ("celery.concurrency.thread:TaskPool", "celery.concurrency.solo:TaskPool")

OVERRUNS = Counter("celery_task_overruns_total", "Tasks that outlived their hard time limit in a pool without one")

# Sent for each task that outlived its hard time limit, with ``task_name``, ``task_id`` and ``args``: by the
# watchdog before it stops a threads worker, and in a prefork worker's main process once its child was killed.
# The task's message comes back to the queue, and what stopped it once would likely stop it again: a receiver
# can note that, so that the next run ends the work another way. Receivers must be quick (they run in the
# watchdog's thread, or in the main process that feeds the children); a failure in one is logged and ignored.
task_overran = Signal()


@dataclass(frozen=True)
class _Running:
    name: str
    args: tuple
    started: float
    deadline: float


class TaskWatchdog:
    """Tracks the tasks under way in this process and stops it when one outlives its hard limit.

    ``stop`` asks the worker to stop taking work; ``exit`` ends the process (``os._exit``: a thread that
    is stuck would keep an orderly interpreter exit waiting for it).
    """

    def __init__(
        self,
        *,
        grace: float,
        stop: Callable[[], None],
        exit: Callable[[int], None],
        clock: Callable[[], float] = time.monotonic,
    ):
        self.grace = grace
        self._stop, self._exit, self._clock = stop, exit, clock
        self._running: dict[str, _Running] = {}
        self._lock = threading.Lock()
        self._stopping_since: float | None = None
        self._thread: threading.Thread | None = None

    def task_started(self, *, task_id: str, name: str, limit: float | None, args: tuple = ()) -> None:
        if not limit:
            return
        now = self._clock()
        with self._lock:
            self._running[task_id] = _Running(name, tuple(args), now, now + limit)

    def task_finished(self, *, task_id: str) -> None:
        with self._lock:
            self._running.pop(task_id, None)

    def check(self) -> bool:
        """One look at the tasks under way: stops the worker, or ends the process, when it is time to.

        True once it has called ``exit`` (which, in a worker, does not return).
        """
        now = self._clock()
        with self._lock:
            running = dict(self._running)
        overdue = {task_id: task for task_id, task in running.items() if now >= task.deadline}
        if self._stopping_since is None:
            if not overdue:
                return False
            for task_id, task in overdue.items():
                log.error(
                    "celery_task_overran_its_time_limit",
                    task=task.name,
                    task_id=task_id,
                    seconds=round(now - task.started, 1),
                    others_under_way=len(running) - len(overdue),
                )
                _announce_overrun(task_name=task.name, task_id=task_id, args=task.args)
            self._stopping_since = now
            self._stop()
            return False
        if len(overdue) < len(running) and now - self._stopping_since < self.grace:
            return False
        log.error(
            "celery_worker_exiting_after_an_overrun",
            overdue=len(overdue),
            unfinished=len(running) - len(overdue),
        )
        self._exit(EXIT_CODE)
        return True

    def start(self, *, interval: float = 1.0) -> None:
        if self._thread and self._thread.is_alive():
            return

        def run():
            while True:
                time.sleep(interval)
                try:
                    if self.check():
                        return
                except Exception:  # the watchdog must outlive a failure of its own
                    log.exception("celery_task_watchdog_failed")

        self._thread = threading.Thread(target=run, name="task-watchdog", daemon=True)
        self._thread.start()


def pool_enforces_time_limits(pool_cls) -> bool:
    from celery import concurrency

    cls = concurrency.get_implementation(pool_cls)
    return f"{cls.__module__}:{cls.__qualname__}" not in UNLIMITED_POOLS


def _announce_overrun(*, task_name: str, task_id: str, args: tuple) -> None:
    OVERRUNS.inc()
    for receiver, result in task_overran.send_robust(
        sender=TaskWatchdog, task_name=task_name, task_id=task_id, args=args
    ):
        if isinstance(result, Exception):
            log.error("celery_task_overran_receiver_failed", receiver=getattr(receiver, "__qualname__", "?"))


def _announce_hard_time_limits(sender=None, task_id=None, exception=None, args=None, **kwargs) -> None:
    from celery.exceptions import TimeLimitExceeded

    if isinstance(exception, TimeLimitExceeded) and sender is not None:
        _announce_overrun(task_name=sender.name, task_id=task_id, args=tuple(args or ()))


def watch_worker(worker, *, grace: float) -> TaskWatchdog | None:
    """Starts a watchdog for the Celery worker ``worker`` (``worker_init``'s sender) if its pool needs one.

    A pool that enforces time limits (prefork) kills the child itself, and Celery reports the task as failed with
    ``TimeLimitExceeded`` in the worker's main process: that is announced as :data:`task_overran` too.
    """
    from celery import signals

    if pool_enforces_time_limits(worker.pool_cls):
        signals.task_failure.connect(_announce_hard_time_limits, weak=False, dispatch_uid="task_watchdog.hard_limits")
        return None
    app = worker.app
    watchdog = TaskWatchdog(
        grace=grace,
        stop=lambda: os.kill(os.getpid(), signal.SIGTERM),
        exit=os._exit,
    )

    def started(sender=None, task_id=None, task=None, **kwargs):
        if getattr(task.request, "is_eager", False):
            return
        # The message's own limit first: the relay gives a pack of events one per event.
        hard = (task.request.timelimit or (None, None))[0]
        limit = hard or task.time_limit or app.conf.task_time_limit
        watchdog.task_started(task_id=task_id, name=task.name, limit=limit, args=task.request.args or ())

    def finished(sender=None, task_id=None, **kwargs):
        watchdog.task_finished(task_id=task_id)

    signals.task_prerun.connect(started, weak=False)
    signals.task_postrun.connect(finished, weak=False)
    watchdog.start()
    log.info("celery_task_watchdog_started", pool=str(worker.pool_cls), grace=grace)
    return watchdog
