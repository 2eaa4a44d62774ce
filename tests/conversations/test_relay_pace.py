"""The outbox relay's wait between rounds (conversations.relay.RelayPace)."""

from __future__ import annotations

import signal

import pytest
from django.core.management import call_command

from conversations.management.commands import conversations_relay
from conversations.relay import RelayPace


def waits(pace: RelayPace, rounds: list[tuple[float, int]]) -> list[float]:
    """The waits after rounds that ended at the given times and published the given counts."""
    return [pace.wait_after(published=published, now=now) for now, published in rounds]


def test_it_waits_briefly_while_events_come():
    pace = RelayPace(busy=0.02, quiet=0.25)

    assert waits(pace, [(100.0, 3), (100.02, 1), (100.04, 7)]) == [0.02, 0.02, 0.02]


def test_it_keeps_the_brief_wait_for_a_second_after_the_last_event():
    pace = RelayPace(busy=0.02, quiet=0.25)

    assert waits(pace, [(100.0, 1), (100.5, 0), (100.99, 0)]) == [0.02, 0.02, 0.02]


def test_it_doubles_the_wait_once_events_stopped_up_to_the_quiet_wait():
    pace = RelayPace(busy=0.02, quiet=0.25)
    waits(pace, [(100.0, 1)])

    assert waits(pace, [(101.0, 0), (101.1, 0), (101.2, 0), (101.4, 0), (101.7, 0), (102.0, 0)]) == [
        0.04,
        0.08,
        0.16,
        0.25,
        0.25,
        0.25,
    ]


def test_it_slows_down_from_the_start_when_nothing_is_waiting():
    pace = RelayPace(busy=0.02, quiet=0.25)

    assert waits(pace, [(5.0, 0), (5.04, 0)]) == [0.04, 0.08]


def test_it_returns_to_the_brief_wait_at_the_next_event():
    pace = RelayPace(busy=0.02, quiet=0.25)
    waits(pace, [(100.0, 1), (101.0, 0), (101.1, 0), (101.3, 0)])

    assert waits(pace, [(101.5, 2), (101.6, 0)]) == [0.02, 0.02]


def test_it_never_waits_longer_than_the_quiet_wait_or_shorter_than_the_busy_one():
    assert waits(RelayPace(busy=0.02, quiet=0.03), [(0.0, 0), (1.0, 0)]) == [0.03, 0.03]
    # A quiet wait set below the busy one (a misreading of the two settings) keeps the busy wait.
    assert waits(RelayPace(busy=0.05, quiet=0.01), [(0.0, 0), (1.0, 0)]) == [0.05, 0.05]


@pytest.mark.django_db
def test_it_slows_the_relays_rounds_down_while_nothing_comes(settings, monkeypatch):
    settings.CONVERSATION_DISPATCH = "outbox"
    settings.CONVERSATION_RELAY_IDLE_SECONDS = 0.02
    settings.CONVERSATION_RELAY_QUIET_SECONDS = 0.1
    previous = signal.getsignal(signal.SIGTERM)
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        if len(slept) == 4:  # stop the loop as compose does, with SIGTERM
            signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(conversations_relay.time, "sleep", sleep)
    try:
        call_command("conversations_relay")
    finally:
        signal.signal(signal.SIGTERM, previous)

    assert slept == [0.04, 0.08, 0.1, 0.1]
