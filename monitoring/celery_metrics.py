"""Celery task metrics, from Celery's signals in whichever process runs the task.

* ``celery_tasks_total{task, outcome}``: finished runs; ``succeeded``, ``failed`` or ``retried``
  (a run that asked to be retried; its next run counts again).
* ``celery_task_failures_total{task, exception}``: failed runs by exception class.
* ``celery_task_runtime_seconds{task}``: how long each run took, whatever its outcome.

Queue depth is read from the broker by the dashboard, not here.
"""

from __future__ import annotations

import time

from celery import signals, states
from prometheus_client import Counter, Histogram

TASKS = Counter("celery_tasks_total", "Celery task runs, by outcome", ["task", "outcome"])
FAILURES = Counter("celery_task_failures_total", "Failed Celery task runs, by exception class", ["task", "exception"])
RUNTIME = Histogram(
    "celery_task_runtime_seconds",
    "Run time of Celery tasks",
    ["task"],
    # Webhook events take a model call (seconds); a task near the 90 s soft limit is in trouble.
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 90, 120),
)

_OUTCOMES = {states.SUCCESS: "succeeded", states.FAILURE: "failed", states.RETRY: "retried"}
# task id -> perf_counter at prerun; a thread pool runs several tasks at once.
_started: dict[str, float] = {}


@signals.task_prerun.connect
def _task_started(task_id=None, **kwargs):
    if task_id:
        _started[task_id] = time.perf_counter()


@signals.task_postrun.connect
def _task_finished(task_id=None, task=None, state=None, **kwargs):
    started = _started.pop(task_id, None)
    if task is None:
        return
    if started is not None:
        RUNTIME.labels(task=task.name).observe(time.perf_counter() - started)
    TASKS.labels(task=task.name, outcome=_OUTCOMES.get(state, str(state).lower())).inc()


@signals.task_failure.connect
def _task_failed(sender=None, exception=None, **kwargs):
    name = getattr(sender, "name", None) or "unknown"
    FAILURES.labels(task=name, exception=type(exception).__name__).inc()
