"""Writes made at the same moment by several threads go together, and nobody's fate is another's."""

from __future__ import annotations

import threading

from core.write_group import WriteGroup
from tests.waiting import wait_for


class Store:
    """A write that records each statement's items; the first statement waits until ``release`` is set."""

    def __init__(self, *, refuse=(), hold_first=True):
        self.statements: list[list[str]] = []
        self.refuse = set(refuse)
        self.release = threading.Event()
        if not hold_first:
            self.release.set()
        self.first_begun = threading.Event()

    def write(self, items: list[str]) -> list[str]:
        if not self.first_begun.is_set():
            self.first_begun.set()
            assert self.release.wait(10)
        self.statements.append(list(items))
        refused = self.refuse.intersection(items)
        if refused:
            raise ValueError(f"refused {sorted(refused)}")
        return [f"stored {item}" for item in items]


class Stopped(BaseException):
    """As a hard time limit stops a thread: not an Exception, so nothing on the way catches it."""


class Writer(threading.Thread):
    def __init__(self, group: WriteGroup, item: str):
        super().__init__(daemon=True)
        self.group, self.item = group, item
        self.result = self.error = None

    def run(self):
        try:
            self.result = self.group.write(self.item)
        except (Exception, Stopped) as exc:  # handed to the test, which checks it
            self.error = exc


def key(item: str) -> str:
    return item.split(":")[0]


def held_then(group: WriteGroup, store: Store, first: str, *others: str) -> list[Writer]:
    """``first`` is being written (and held) while ``others`` arrive; then the write goes on."""
    writers = [Writer(group, first)]
    writers[0].start()
    wait_for(store.first_begun.is_set)
    for item in others:
        writers.append(Writer(group, item))
        writers[-1].start()
    wait_for(lambda: group.waiting == len(others))
    store.release.set()
    for writer in writers:
        writer.join(10)
        assert not writer.is_alive()
    return writers


def group_of(store: Store, largest: int = 8) -> WriteGroup:
    return WriteGroup(store.write, key=key, largest=lambda: largest)


def test_it_writes_at_once_and_alone_when_nothing_else_is_being_written():
    store = Store(hold_first=False)
    group = group_of(store)

    assert [group.write(item) for item in ("a", "b", "c")] == ["stored a", "stored b", "stored c"]
    assert store.statements == [["a"], ["b"], ["c"]]


def test_it_writes_what_arrives_during_a_write_as_one_statement():
    store = Store()
    writers = held_then(group_of(store), store, "a", "b", "c", "d")

    assert store.statements[0] == ["a"]
    assert len(store.statements) == 2
    assert sorted(store.statements[1]) == ["b", "c", "d"]
    assert [(w.result, w.error) for w in writers] == [(f"stored {w.item}", None) for w in writers]


def test_it_never_puts_two_items_with_one_key_in_a_statement():
    store = Store()
    writers = held_then(group_of(store), store, "a", "x:1", "x:2", "y")

    later = store.statements[1:]
    assert all(len({key(item) for item in statement}) == len(statement) for statement in later)
    assert sorted(item for statement in later for item in statement) == ["x:1", "x:2", "y"]
    assert len(later) == 2
    assert all(w.result == f"stored {w.item}" for w in writers)


def test_it_makes_statements_no_larger_than_the_largest_size():
    store = Store()
    held_then(group_of(store, largest=2), store, "a", "b", "c", "d")

    assert [len(statement) for statement in store.statements] == [1, 2, 1]


def test_it_writes_each_item_again_alone_when_their_statement_fails():
    store = Store(refuse={"bad"})
    writers = held_then(group_of(store), store, "a", "b", "bad", "c")

    group_statement = store.statements[1]
    assert sorted(group_statement) == ["b", "bad", "c"]
    # Each item of the failed statement was written again in a statement of its own.
    assert sorted(s[0] for s in store.statements[2:]) == ["b", "bad", "c"]
    assert all(len(s) == 1 for s in store.statements[2:])
    outcomes = {w.item: (w.result, str(w.error) if w.error else None) for w in writers}
    assert outcomes == {
        "a": ("stored a", None),
        "b": ("stored b", None),
        "c": ("stored c", None),
        "bad": (None, "refused ['bad']"),
    }


def test_it_goes_on_for_the_others_when_a_lone_write_fails():
    store = Store(refuse={"bad"})
    writers = held_then(group_of(store), store, "bad", "b", "c")

    assert writers[0].result is None
    assert str(writers[0].error) == "refused ['bad']"
    assert sorted(store.statements[1]) == ["b", "c"]
    assert [w.result for w in writers[1:]] == ["stored b", "stored c"]


def test_it_wakes_whoever_waits_when_the_writer_is_stopped_mid_write():
    calls = []
    release = threading.Event()

    def write(items):
        calls.append(list(items))
        if len(calls) == 1:
            assert release.wait(10)
        if len(calls) == 2:  # the statement of "b" and "c", written by "b"'s thread
            raise Stopped
        return [f"stored {item}" for item in items]

    group = WriteGroup(write, key=key, largest=lambda: 8)
    writers = [Writer(group, "a")]
    writers[0].start()
    wait_for(lambda: calls)
    for waiting, item in enumerate(("b", "c"), start=1):
        writers.append(Writer(group, item))
        writers[-1].start()
        wait_for(lambda waiting=waiting: group.waiting == waiting)
    release.set()
    for writer in writers:
        writer.join(10)
        assert not writer.is_alive()

    assert calls[:2] == [["a"], ["b", "c"]]
    assert isinstance(writers[1].error, Stopped)
    assert writers[2].result == "stored c"
    assert calls[2:] == [["c"]]
    # Nothing is left waiting on the stopped writer: the next write goes at once.
    assert group.write("d") == "stored d"


def test_it_writes_one_at_a_time_when_statements_hold_one_item():
    store = Store()
    held_then(group_of(store, largest=1), store, "a", "b", "c")

    assert [len(statement) for statement in store.statements] == [1, 1, 1]
    assert sorted(statement[0] for statement in store.statements) == ["a", "b", "c"]
