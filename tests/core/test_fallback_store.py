from core.fallback import FallbackStore


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_it_expires_entries_after_their_ttl():
    clock = Clock()
    store = FallbackStore(10, timer=clock)
    store.set("short", b"1", ttl=5)
    store.set("long", b"2", ttl=50)

    clock.now += 6

    assert store.get("short") is None
    assert store.get("long") == b"2"


def test_it_evicts_the_least_recently_used_entry_when_full():
    store = FallbackStore(2)
    store.set("a", b"1")
    store.set("b", b"2")
    store.get("a")

    store.set("c", b"3")

    assert store.get("b") is None
    assert store.get("a") == b"1"
    assert store.get("c") == b"3"


def test_it_hands_over_dirty_entries_once():
    store = FallbackStore(10)
    store.set("a", b"1", ttl=30)
    store.delete("b")

    items = {item.key: item for item in store.take_dirty()}

    assert items["a"].value == b"1" and items["a"].ttl == 30
    assert items["b"].value is None and items["b"].delta is None
    assert store.take_dirty() == []
    assert len(store) == 0


def test_it_prunes_the_requested_fraction():
    store = FallbackStore(100)
    for i in range(10):
        store.set(f"k{i}", b"v")

    assert store.prune(0.5) == 5
    assert len(store) == 5


def test_it_bounds_pending_writes_and_drops_the_oldest_first():
    store = FallbackStore(3)
    for name in ("a", "b", "c"):
        store.delete(name)  # deletions are not in the cache, only pending
    store.set("a", b"again")  # a is now the newest

    store.delete("d")

    assert [item.key for item in store.take_dirty()] == ["c", "a", "d"]
    assert store.take_dropped() == 1
    assert store.take_dropped() == 0


def test_it_keeps_a_value_when_counting_after_writing_it_in_the_same_outage():
    store = FallbackStore(10)
    store.set("k", b"5", ttl=30)

    assert store.incr("k") == 6

    [item] = store.take_dirty()
    assert (item.value, item.delta) == (b"6", None)


def test_it_keeps_counts_alone_as_increments():
    store = FallbackStore(10)
    store.incr("k", ttl=30)
    store.incr("k", ttl=30)

    [item] = store.take_dirty()
    assert (item.value, item.delta) == (None, 2)
    assert 0 < item.ttl <= 30


def test_it_lets_writes_given_back_yield_to_later_ones_and_adds_up_increments():
    store = FallbackStore(10)
    store.set("value", b"old")
    store.incr("count")
    store.set("untouched", b"kept")
    taken = store.take_dirty()
    store.set("value", b"new")  # written after the failed write-back
    store.incr("count")

    store.give_back(taken)

    items = {item.key: item for item in store.take_dirty()}
    assert items["value"].value == b"new"
    assert items["count"].delta == 2
    assert items["untouched"].value == b"kept"
