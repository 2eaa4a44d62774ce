"""The one retry policy for calls to LINE."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from core.errors import LineApiError

T = TypeVar("T")


@dataclass
class RetryRecord:
    """What the attempts of one call went through; ``ambiguous`` when LINE may have acted on one."""

    ambiguous: bool = False


def _retryable(error: BaseException) -> bool:
    return isinstance(error, LineApiError) and error.retryable


def with_retries(call: Callable[[], T], record: RetryRecord | None = None) -> T:
    """Runs ``call`` with jittered exponential backoff on 429, 5xx and transport errors.

    Pushes and multicasts carry an ``X-Line-Retry-Key`` (LINE answers 409 to a repeat it
    already accepted) and reads are reads, so repeating them is safe.  A reply-token call may
    have reached LINE before its answer was lost: ``record.ambiguous`` tells the caller.
    """
    record = record if record is not None else RetryRecord()
    retrying = Retrying(
        stop=stop_after_attempt(max(1, settings.LINE_API_ATTEMPTS)),
        wait=wait_exponential(multiplier=settings.LINE_API_RETRY_WAIT, max=4.0)
        + wait_random(0, settings.LINE_API_RETRY_WAIT),
        retry=retry_if_exception(_retryable),
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            try:
                return call()
            except LineApiError as exc:
                if (exc.details or {}).get("ambiguous"):
                    record.ambiguous = True
                raise
    raise AssertionError("unreachable")  # pragma: no cover
