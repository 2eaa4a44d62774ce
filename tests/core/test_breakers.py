"""core.breakers: pybreaker's circuit breaker, with a closed circuit's calls running side by side."""

import threading
import time

import pybreaker
import pytest

from core.breakers import CircuitBreaker


class Changes(pybreaker.CircuitBreakerListener):
    def __init__(self):
        self.seen = []

    def state_change(self, cb, old_state, new_state):
        self.seen.append((old_state.name if old_state else None, new_state.name))


def both_inside(breaker, wait=2.0):
    """Runs two calls through ``breaker`` on two threads; each returns only once both are inside their call."""
    inside = threading.Barrier(2, timeout=wait)
    outcomes = []

    def run():
        try:
            outcomes.append(breaker.call(inside.wait))
        except threading.BrokenBarrierError:
            outcomes.append("alone")

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return outcomes


def fail():
    raise ConnectionError("down")


def test_it_runs_a_closed_circuits_calls_side_by_side():
    assert "alone" not in both_inside(CircuitBreaker(fail_max=3))


def test_it_is_needed_while_pybreakers_own_breaker_runs_calls_one_at_a_time():
    # What this module is for: should pybreaker stop holding its lock for the call, this test says so.
    assert both_inside(pybreaker.CircuitBreaker(fail_max=3), wait=0.3).count("alone") >= 1


def test_it_opens_after_fail_max_failures_and_then_fails_at_once():
    breaker = CircuitBreaker(fail_max=2, reset_timeout=60)
    calls = []

    for _ in range(2):
        with pytest.raises((ConnectionError, pybreaker.CircuitBreakerError)):
            breaker.call(fail)
    with pytest.raises(pybreaker.CircuitBreakerError):
        breaker.call(calls.append, "made")

    assert breaker.current_state == pybreaker.STATE_OPEN
    assert calls == []


def test_it_does_not_count_an_excluded_error_against_the_circuit():
    breaker = CircuitBreaker(fail_max=1, exclude=[ValueError])

    with pytest.raises(ValueError):
        breaker.call(int, "not a number")

    assert breaker.current_state == pybreaker.STATE_CLOSED
    assert breaker.fail_counter == 0


def test_it_resets_the_failure_count_after_a_success():
    breaker = CircuitBreaker(fail_max=2)
    with pytest.raises(ConnectionError):
        breaker.call(fail)

    assert breaker.call(len, "ok") == 2

    assert breaker.fail_counter == 0


def test_it_closes_a_half_open_circuit_after_its_trial_call_succeeds():
    changes = Changes()
    breaker = CircuitBreaker(fail_max=1, reset_timeout=0.05, listeners=[changes], throw_new_error_on_trip=False)
    with pytest.raises(ConnectionError):
        breaker.call(fail)
    time.sleep(0.1)

    assert breaker.call(len, "trial") == 5

    assert breaker.current_state == pybreaker.STATE_CLOSED
    assert changes.seen == [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]


def test_it_leaves_an_open_circuit_as_it_is_when_a_late_call_fails():
    changes = Changes()
    breaker = CircuitBreaker(fail_max=1, reset_timeout=60, listeners=[changes], throw_new_error_on_trip=False)
    started, release = threading.Event(), threading.Event()
    errors = []

    def slow_failure():
        started.set()
        release.wait(5)
        raise ConnectionError("late")

    def run():
        try:
            breaker.call(slow_failure)
        except ConnectionError as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=run)
    thread.start()
    started.wait(5)
    with pytest.raises(ConnectionError):
        breaker.call(fail)  # opens the circuit while the slow call is still under way
    opened_at = breaker._state_storage.opened_at
    release.set()
    thread.join(5)

    assert errors == ["late"]
    assert changes.seen == [("closed", "open")]
    assert breaker._state_storage.opened_at == opened_at
