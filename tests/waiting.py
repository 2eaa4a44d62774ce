"""Waiting in a test for what another thread or process does."""

import time


def wait_for(condition, timeout: float = 10.0, every: float = 0.01) -> None:
    """Returns once ``condition()`` is true; fails the test if it is still false after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(every)
