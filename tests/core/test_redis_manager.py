"""The Redis manager against a real redis-server that the tests kill and restart."""

import time

import pytest
import redis

from core.redis import RedisManager


@pytest.fixture
def manager(redis_process):
    return RedisManager(redis_process.url, fail_max=2, reset_timeout=0.3, fallback_maxsize=100, socket_timeout=0.2)


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_it_reads_and_writes_through_redis_when_healthy(manager, redis_process):
    manager.set("greeting", "hello", ttl=60)

    assert manager.get("greeting") == b"hello"
    assert redis.Redis(port=redis_process.port).get("greeting") == b"hello"
    assert manager.state == "closed"


def test_it_keeps_reads_and_writes_working_during_an_outage(manager, redis_process):
    manager.set("before", "kept-in-redis")
    redis_process.kill()

    manager.set("during", "kept-in-memory", ttl=60)

    assert manager.get("during") == b"kept-in-memory"
    assert manager.incr("counter", ttl=60) == 1
    assert manager.incr("counter", ttl=60) == 2
    assert manager.using_fallback


def test_it_opens_the_breaker_after_repeated_failures(manager, redis_process):
    redis_process.kill()

    for _ in range(3):
        manager.get("anything")

    assert manager.state == "open"


def test_it_moves_back_to_redis_and_writes_back_after_the_outage(manager, redis_process):
    redis_process.kill()
    for _ in range(3):
        manager.set("during", "written-while-down", ttl=60)
    manager.delete("gone")
    assert manager.state == "open"

    redis_process.start()
    time.sleep(0.35)  # the breaker's reset timeout: next call is the half-open probe

    assert wait_until(lambda: manager.get("during") == b"written-while-down")
    assert manager.state == "closed"
    direct = redis.Redis(port=redis_process.port)
    assert direct.get("during") == b"written-while-down"
    assert 0 < direct.pttl("during") <= 60_000


def test_it_writes_back_a_failed_write_on_the_next_success(manager, redis_process):
    redis_process.kill()
    manager.set("once", "value")  # one failure: the breaker is still closed
    assert manager.state == "closed"
    redis_process.start()

    manager.get("other")

    assert redis.Redis(port=redis_process.port).get("once") == b"value"


def test_it_pings_for_the_truth_even_with_the_breaker_open(manager, redis_process):
    # The manager's 0.2 s socket timeout can pass while a loaded machine starts the connection.
    assert wait_until(manager.ping)
    redis_process.kill()
    assert not manager.ping()


def test_it_works_from_memory_alone_without_a_url():
    manager = RedisManager(None)

    manager.set("key", "value", ttl=5)

    assert manager.get("key") == b"value"
    assert manager.state == "memory-only"
    assert not manager.ping()
