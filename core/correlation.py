"""The correlation id that ties a request to its log lines and the tasks it starts.

The id lives in a context variable of its own, which :mod:`core.logging` adds to every log line.
Celery carries it in a message header from the producer to the worker, where it
is bound from the moment the message arrives ("Task ... received") to the end of
the task's run.  A task published with no id bound (a shell, a process outside a
request) gets a fresh one on arrival; beat binds a fresh one for each task it
sends (:mod:`core.beat`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from celery import Task, signals

HEADER = "X-Request-ID"
_TASK_HEADER = "x_request_id"
# A client-supplied id is echoed into logs and headers, so it must be tame.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# Not in structlog's context variables: binding and clearing those copies the thread's whole context each
# time, about 5 % of a webhook ack's CPU under load (docs/PERFORMANCE.md, "Grouped acks converted once").
_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def new_id() -> str:
    return uuid.uuid4().hex


def accept_or_new(candidate: str | None) -> str:
    if candidate and _SAFE_ID.match(candidate):
        return candidate
    return new_id()


def current() -> str | None:
    return _correlation_id.get()


def bind(correlation_id: str) -> None:
    _correlation_id.set(correlation_id)


def clear() -> None:
    _correlation_id.set(None)


@contextmanager
def kept() -> Iterator[None]:
    """What is bound inside is undone on leaving, so one unit of work's id does not pass to the next."""
    saved = _correlation_id.get()
    try:
        yield
    finally:
        _correlation_id.set(saved)


def add_to_log_line(logger, method_name: str, event_dict: dict) -> dict:
    """structlog processor: the bound id on every line, unless the line names one of its own."""
    correlation_id = _correlation_id.get()
    if correlation_id is not None:
        event_dict.setdefault("correlation_id", correlation_id)
    return event_dict


@signals.before_task_publish.connect
def _attach_to_task(headers=None, **kwargs):
    correlation_id = current()
    if correlation_id and headers is not None and _TASK_HEADER not in headers:
        headers[_TASK_HEADER] = correlation_id


@signals.task_prerun.connect
def _bind_in_worker(task=None, **kwargs):
    request = getattr(task, "request", None)
    correlation_id = getattr(request, _TASK_HEADER, None) if request else None
    if correlation_id is None and request is not None:
        correlation_id = (getattr(request, "headers", None) or {}).get(_TASK_HEADER)
    if correlation_id:
        bind(correlation_id)
    elif not task.request.is_eager:
        bind(new_id())


@signals.task_postrun.connect
def _unbind_in_worker(task=None, **kwargs):
    if task is not None and not task.request.is_eager:
        clear()


def task_strategy(task, app, consumer, **kwargs):
    """Celery's default strategy, with the message's correlation id bound while the worker takes it in.

    The worker's main process logs "Task ... received" here, before any task signal.  A
    message without an id gets a fresh one in its headers, which the run then binds too.
    """
    from celery.worker.strategy import default  # worker code: web processes never need it

    handle = default(task, app, consumer, **kwargs)

    def task_message_handler(message, body, ack, reject, callbacks, **handler_kwargs):
        headers = message.headers
        correlation_id = headers.get(_TASK_HEADER) if isinstance(headers, dict) else None
        if not (correlation_id and _SAFE_ID.match(str(correlation_id))):
            correlation_id = new_id()
            if isinstance(headers, dict):
                headers[_TASK_HEADER] = correlation_id
        with kept():
            bind(correlation_id)
            return handle(message, body, ack, reject, callbacks, **handler_kwargs)

    return task_message_handler


class CorrelatedTask(Task):
    """The base class of every task of the project's Celery app (``task_cls``)."""

    Strategy = "core.correlation:task_strategy"
