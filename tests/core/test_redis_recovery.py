"""Recovery from a Redis outage: what processes wrote while cut off is merged, never lost or reverted.

Counters add up (every process's increments count); for values and deletions the newer write
wins, whichever process comes back first.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from core.redis import RedisManager

REPO = Path(__file__).resolve().parents[2]
PEER = Path(__file__).with_name("redis_peer.py")
PREFIX = "deploy-a"
FOREIGN = b"asgi:group:dashboard"


class Peer:
    """Another process with its own RedisManager, driven one command at a time."""

    def __init__(self, url: str, prefix: str = PREFIX):
        self.process = subprocess.Popen(
            [sys.executable, str(PEER), url, prefix],
            cwd=REPO,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self._answer() == "ready"

    def _answer(self):
        line = self.process.stdout.readline()
        assert line, f"the peer exited with {self.process.poll()}"
        return json.loads(line)

    def __call__(self, op: str, *args):
        self.process.stdin.write(json.dumps([op, *args]) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture
def peers(durable_redis_process):
    a, b = Peer(durable_redis_process.url), Peer(durable_redis_process.url)
    yield a, b
    a.stop()
    b.stop()


def manager_for(server, **options) -> RedisManager:
    defaults = {"key_prefix": PREFIX, "fail_max": 1, "reset_timeout": 0.3, "socket_timeout": 0.3}
    return RedisManager(server.url, **{**defaults, **options})


def recover(manager: RedisManager, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while manager.using_fallback or manager.fallback.has_dirty:
        assert time.monotonic() < deadline, manager.state
        manager.get("probe")
        time.sleep(0.05)


@pytest.mark.parametrize("first", ["older writer first", "newer writer first"])
def test_it_merges_two_processes_cut_off_together_to_the_newest_values_and_the_sum_of_counts(
    peers, durable_redis_process, first
):
    a, b = peers
    a("set", "greeting", "before the outage")
    a("set", "stale", "before the outage")
    for _ in range(4):
        a("incr", "hits")
    for _ in range(6):
        b("incr", "hits")
    durable_redis_process.kill()

    # A writes first (older), B after it (newer); both count while cut off.
    a("set", "greeting", "older, from A")
    a("set", "stale", "older, from A")
    a("delete", "revived")
    for _ in range(2):
        a("incr", "hits")
    time.sleep(0.01)
    b("set", "greeting", "newer, from B")
    b("delete", "stale")
    b("set", "revived", "newer, from B")
    for _ in range(3):
        b("incr", "hits")
    assert a("state") == b("state") == "open"
    assert a("get", "greeting") == "older, from A"  # each still reads its own writes

    durable_redis_process.start()
    order = (a, b) if first == "older writer first" else (b, a)
    for peer in order:
        assert peer("recover") == "closed"

    direct = redis.Redis(port=durable_redis_process.port)
    assert direct.get(f"{PREFIX}:greeting") == b"newer, from B"
    assert direct.get(f"{PREFIX}:hits") == b"15"  # 10 before, 2 + 3 during the outage
    assert direct.exists(f"{PREFIX}:stale") == 0  # a deletion newer than a stale value wins
    assert direct.get(f"{PREFIX}:revived") == b"newer, from B"  # and a newer value beats an older deletion
    assert a("get", "greeting") == b("get", "greeting") == "newer, from B"


def test_it_writes_every_key_with_its_prefix_once(redis_process):
    manager = manager_for(redis_process)
    manager.set("value", "v", ttl=60)
    manager.incr("counter", ttl=60)
    manager.delete("deleted")
    redis_process.kill()
    manager.set("outage:value", "v", ttl=60)
    manager.incr("outage:counter", ttl=60)
    manager.delete("outage:deleted")
    redis_process.start()
    recover(manager)

    keys = sorted(k.decode() for k in redis.Redis(port=redis_process.port).scan_iter())

    assert keys and all(key.startswith(f"{PREFIX}:") for key in keys), keys
    assert not [key for key in keys if key.startswith(f"{PREFIX}:{PREFIX}:")]
    assert f"{PREFIX}:outage:counter" in keys and f"{PREFIX}:outage:value" in keys
    assert manager.key("name") == f"{PREFIX}:name"


def test_it_makes_the_cache_and_the_channel_layer_write_under_the_prefix_too(redis_process):
    from asgiref.sync import async_to_sync
    from channels_redis.core import RedisChannelLayer
    from django_redis.cache import RedisCache

    from linebot_project.settings.base import cache_settings, channel_layer_settings

    direct = redis.Redis(port=redis_process.port)
    direct.set(FOREIGN, "another deployment's group, under channels-redis's default prefix")
    layer = RedisChannelLayer(**channel_layer_settings(redis_process.url, PREFIX)["default"]["CONFIG"])

    async def use_layer():
        await layer.group_add("dashboard", "specific.abc!def")
        await layer.send("worker", {"type": "refresh"})
        await layer.flush()  # deletes everything under the layer's prefix, so it must be ours
        await layer.group_add("dashboard", "specific.abc!def")

    async_to_sync(use_layer)()
    config = cache_settings(redis_process.url, PREFIX)["default"]
    cache = RedisCache(config["LOCATION"], {"KEY_PREFIX": config["KEY_PREFIX"], "OPTIONS": config["OPTIONS"]})
    cache.set("page", 1, 60)

    keys = sorted(k.decode() for k in direct.scan_iter() if k != FOREIGN)

    assert len(keys) == 2 and all(key.startswith(f"{PREFIX}:") for key in keys), keys
    assert direct.exists(FOREIGN)


def test_it_uses_the_deployments_prefix_in_the_process_wide_manager(settings):
    from core.redis import get_redis

    assert get_redis().key("name") == f"{settings.REDIS_KEY_PREFIX}:name"


def test_it_matches_only_its_own_prefix_with_a_scan_pattern(redis_process):
    direct = redis.Redis(port=redis_process.port)
    for key in ("run[1]:conv:a", "run1:conv:b", "runX:conv:c", "run*:conv:d"):
        direct.set(key, "x")

    manager = RedisManager(redis_process.url, key_prefix="run[1]")

    assert [k.decode() for k in direct.scan_iter(match=manager.pattern("conv:*"))] == ["run[1]:conv:a"]


def test_it_sees_what_this_process_wrote_during_the_outage_on_the_first_read_after_it(redis_process):
    manager = manager_for(redis_process)
    redis_process.kill()
    manager.set("during", "written while cut off", ttl=60)
    redis_process.start()
    time.sleep(0.35)  # past the reset timeout: the next call probes Redis

    assert manager.get("during") == b"written while cut off"
    assert manager.state == "closed"


def test_it_keeps_what_a_write_back_cut_short_has_not_written(redis_process):
    manager = manager_for(redis_process)
    redis_process.kill()
    manager.set("a", "1", ttl=60)
    manager.incr("counter", ttl=60)
    manager.incr("counter", ttl=60)
    manager.delete("gone")
    redis_process.start()
    direct = redis.Redis(port=redis_process.port)
    direct.set(f"{PREFIX}:gone", "still here")
    # Reads go through, writes hang until the timeout: the write-back fails at its first write.
    direct.execute_command("CLIENT", "PAUSE", "1000", "WRITE")
    time.sleep(0.35)

    manager.get("probe")
    assert direct.get(f"{PREFIX}:a") is None

    time.sleep(1.0)  # the pause is over
    manager.get("probe")
    assert direct.get(f"{PREFIX}:a") == b"1"
    assert direct.get(f"{PREFIX}:counter") == b"2"
    assert direct.exists(f"{PREFIX}:gone") == 0
    assert not manager.fallback.has_dirty


def test_it_drops_a_write_redis_refuses_and_writes_the_rest(redis_process):
    manager = manager_for(redis_process)
    redis_process.kill()
    manager.incr("was-text")
    manager.set("fine", "v")
    redis_process.start()
    redis.Redis(port=redis_process.port).set(f"{PREFIX}:was-text", "not a number")

    recover(manager)

    direct = redis.Redis(port=redis_process.port)
    assert direct.get(f"{PREFIX}:was-text") == b"not a number"
    assert direct.get(f"{PREFIX}:fine") == b"v"


def test_it_does_not_bring_back_a_counter_whose_window_ended_during_the_outage(redis_process):
    manager = manager_for(redis_process)
    redis_process.kill()
    manager.incr("short-window", ttl=0.3)
    manager.incr("long-window", ttl=60)
    time.sleep(0.4)
    redis_process.start()

    recover(manager)

    direct = redis.Redis(port=redis_process.port)
    assert direct.exists(f"{PREFIX}:short-window") == 0
    assert direct.get(f"{PREFIX}:long-window") == b"1"
    assert 0 < direct.pttl(f"{PREFIX}:long-window") <= 60_000


def test_it_keeps_a_ttl_below_one_second_rather_than_rounding_it_to_nothing(redis_process):
    manager = manager_for(redis_process)

    assert manager.incr("blink", ttl=0.5) == 1
    manager.set("flash", "v", ttl=0.0004)

    direct = redis.Redis(port=redis_process.port)
    assert 0 < direct.pttl(f"{PREFIX}:blink") <= 500
    assert manager.state == "closed" and not manager.fallback.has_dirty
    time.sleep(0.6)
    assert direct.exists(f"{PREFIX}:blink", f"{PREFIX}:flash") == 0
