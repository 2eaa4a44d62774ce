"""How many events the relay puts in one task message (conversations.packing)."""

from __future__ import annotations

from conversations.packing import Packing, shares


class Queue:
    """How many messages wait, and how often the packing asked."""

    def __init__(self, waiting: int):
        self.waiting = waiting
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        return self.waiting


def test_it_sends_one_event_per_message_while_nothing_waits():
    assert Packing(largest=8).size(events=20, now=0.0, waiting=Queue(0)) == 1


def test_it_packs_no_more_events_than_whole_rounds_wait_ahead():
    assert Packing(largest=8).size(events=10, now=0.0, waiting=Queue(35)) == 3


def test_it_sends_one_event_per_message_while_less_than_a_round_waits():
    assert Packing(largest=8).size(events=10, now=0.0, waiting=Queue(9)) == 1


def test_it_packs_at_most_the_largest():
    assert Packing(largest=8).size(events=10, now=0.0, waiting=Queue(10_000)) == 8


def test_it_packs_none_when_the_largest_is_one():
    queue = Queue(10_000)

    assert Packing(largest=1).size(events=10, now=0.0, waiting=queue) == 1
    assert queue.reads == 0


def test_it_does_not_ask_the_broker_about_a_single_event():
    queue = Queue(10_000)

    assert Packing(largest=8).size(events=1, now=0.0, waiting=queue) == 1
    assert queue.reads == 0


def test_it_asks_the_broker_at_most_once_per_recheck():
    packing, queue = Packing(largest=8, recheck=0.5), Queue(100)

    sizes = [packing.size(events=10, now=now, waiting=queue) for now in (0.0, 0.1, 0.4)]
    queue.waiting = 0
    later = packing.size(events=10, now=0.6, waiting=queue)

    assert (sizes, queue.reads, later) == ([8, 8, 8], 2, 1)


def test_it_deals_events_in_turn_so_each_message_starts_with_an_early_one():
    assert shares([1, 2, 3, 4, 5, 6, 7], 3) == [[1, 4, 7], [2, 5], [3, 6]]


def test_it_gives_each_event_its_own_message_at_size_one():
    assert shares([5, 6, 7], 1) == [[5], [6], [7]]


def test_it_logs_when_the_pack_size_changes_not_every_round(caplog):
    packing, queue = Packing(largest=8, recheck=0), Queue(100)
    caplog.set_level("INFO", logger="conversations.packing")

    for now in (0.0, 0.1, 0.2):
        packing.size(events=10, now=now, waiting=queue)
    queue.waiting = 0
    packing.size(events=10, now=0.3, waiting=queue)

    sizes = [record.msg["events_per_task"] for record in caplog.records if record.name == "conversations.packing"]
    assert sizes == [8, 1]
