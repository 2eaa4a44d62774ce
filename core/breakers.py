"""Circuit breakers whose calls run side by side while the circuit is closed.

pybreaker's ``CircuitBreaker.call`` holds the breaker's lock for the whole of the call it guards
(danielfm/pybreaker#55, open upstream). With one breaker per outside system in each process, that made
a process's calls to the model, and to Redis, run one at a time: 32 worker threads answering with a
model that takes a second answered about one event a second between them, and one slow Redis call held
up every other thread's.

:class:`CircuitBreaker` keeps pybreaker's states, counters, storage and listeners, and its lock still
guards every change of state and the counting of each outcome. Only a call made while the circuit is
closed runs outside the lock. An open circuit still fails at once, and a half-open circuit's trial call
still runs alone, as pybreaker runs it. Unlike pybreaker, a call that returns a generator is counted when
it returns, not when the generator is used up: the project's calls return values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pybreaker

T = TypeVar("T")


class CircuitBreaker(pybreaker.CircuitBreaker):
    def call(self, func: Callable[..., T], *args, **kwargs) -> T:
        with self._lock:
            state = self.state
            if state.name != pybreaker.STATE_CLOSED:
                return state.call(func, *args, **kwargs)
            for listener in self.listeners:
                listener.before_call(self, func, *args, **kwargs)
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            with self._lock:
                if self._state is state:
                    state._handle_error(exc)  # re-raises it, or CircuitBreakerError if this failure trips the circuit
            # The circuit changed while the call ran (another thread's failures opened it): a late failure
            # must not open it again, nor restart its timeout.
            raise
        with self._lock:
            if self._state is state:
                state._handle_success()
        return result
