"""The ticker: one message per dashboard per period, numbered, deltas only, and only one ticker publishing."""

import asyncio
import itertools
import json
import time

import pytest
from channels.layers import get_channel_layer
from prometheus_client import Counter

from monitoring import multiprocess
from monitoring.dashboards.registry import Dashboard, Field, Panel
from monitoring.dashboards.store import TickerLock, snapshot_load
from monitoring.dashboards.ticker import Ticker

pytestmark = pytest.mark.asyncio


def _dashboard(name: str, collect, *, fields=("value",), rows=None, every=1.0) -> Dashboard:
    dashboard = Dashboard(name, name, "")
    dashboard.panels["p"] = Panel(
        dashboard=name,
        name="p",
        collect=collect,
        title="P",
        fields=tuple(Field(key, key) for key in fields),
        rows=rows,
        every=every,
    )
    return dashboard


async def _listen(dashboard: Dashboard) -> str:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(dashboard.group, channel)
    return channel


async def _received(channel: str, timeout: float = 0.2) -> list[dict]:
    layer, messages = get_channel_layer(), []
    while True:
        try:
            event = await asyncio.wait_for(layer.receive(channel), timeout)
        except TimeoutError:
            return messages
        messages.append(json.loads(event["text"]))


class Values:
    def __init__(self, **values):
        self.values = values

    def __call__(self, ctx):
        return dict(self.values)


async def test_it_numbers_updates_and_sends_only_the_keys_that_changed():
    values = Values(value=1, other=5)
    dashboard = _dashboard("t_delta", values, fields=("value", "other"))
    channel = await _listen(dashboard)
    ticker = Ticker(dashboards=[dashboard], interval=1.0)

    await ticker.tick()
    values.values["value"] = 2
    await ticker.tick()
    await ticker.tick()

    first, second, third = await _received(channel)
    assert [first["seq"], second["seq"], third["seq"]] == [1, 2, 3]
    assert first["data"] == {"value": 1, "other": 5}
    assert second["data"] == {"value": 2}
    assert third["data"] == {}
    assert first["type"] == "update" and abs(third["ts"] - time.time()) < 5


async def test_it_publishes_at_most_one_message_per_dashboard_per_second():
    one, two = _dashboard("t_rate_a", Values(value=1)), _dashboard("t_rate_b", Values(value=2))
    channels = [await _listen(one), await _listen(two)]
    ticker = Ticker(dashboards=[one, two], interval=1.0)
    stop = asyncio.Event()

    task = asyncio.create_task(ticker.run(stop))
    await asyncio.sleep(3.5)
    stop.set()
    await task

    for channel in channels:
        messages = await _received(channel)
        assert 3 <= len(messages) <= 4
        assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))
        # ts is when the ticker published it.
        gaps = [b["ts"] - a["ts"] for a, b in itertools.pairwise(messages)]
        assert min(gaps) >= 0.99


async def test_it_keeps_the_latest_snapshot_for_sockets_that_connect_later():
    dashboard = _dashboard("t_snapshot", Values(value=7))
    ticker = Ticker(dashboards=[dashboard], interval=1.0)

    await ticker.tick()
    await ticker.tick()

    stored = json.loads(snapshot_load("t_snapshot"))
    assert stored["type"] == "snapshot" and stored["seq"] == 2 and stored["data"] == {"value": 7}


async def test_it_carries_on_the_sequence_and_the_data_viewers_have_in_a_new_ticker():
    dashboard = _dashboard("t_resume", Values(value=3))
    first = Ticker(dashboards=[dashboard], interval=1.0)
    assert await first._hold_lock()
    await first.tick()
    first.lock.release()
    channel = await _listen(dashboard)

    second = Ticker(dashboards=[dashboard], interval=1.0)
    assert await second._hold_lock()
    await second.tick()
    second.lock.release()

    (message,) = await _received(channel)
    assert message["seq"] == 2
    assert message["data"] == {}


async def test_it_keeps_a_second_ticker_from_publishing_while_the_first_holds_the_lock():
    dashboard = _dashboard("t_lock", Values(value=1))
    channel = await _listen(dashboard)
    first = Ticker(dashboards=[dashboard], interval=1.0, lock=TickerLock(ttl=5))
    second = Ticker(dashboards=[dashboard], interval=1.0, lock=TickerLock(ttl=5))
    stop = asyncio.Event()

    tasks = [asyncio.create_task(first.run(stop)), asyncio.create_task(second.run(stop))]
    await asyncio.sleep(2.5)
    stop.set()
    await asyncio.gather(*tasks)

    messages = await _received(channel)
    assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))
    assert len(messages) <= 3
    assert first.holding is False and second.holding is False  # released on the way out
    after = TickerLock()
    assert after.acquire()  # and free for the next one
    after.release()


async def test_it_takes_over_when_the_lock_holder_stops_renewing():
    holder = TickerLock(ttl=1)
    assert holder.acquire()
    waiting = TickerLock(ttl=1)
    assert not waiting.acquire()

    await asyncio.sleep(1.2)

    assert waiting.acquire()
    assert not holder.renew()
    waiting.release()


async def test_it_sends_a_key_that_disappeared_as_null_once():
    values = Values(**{"errors.llm_timeout": 2})
    dashboard = _dashboard("t_rows", values, fields=(), rows="errors.")
    channel = await _listen(dashboard)
    ticker = Ticker(dashboards=[dashboard], interval=1.0)

    await ticker.tick()
    values.values = {}
    await ticker.tick()
    await ticker.tick()

    assert [m["data"] for m in await _received(channel)] == [
        {"errors.llm_timeout": 2},
        {"errors.llm_timeout": None},
        {},
    ]


async def test_it_refuses_keys_a_panel_does_not_own_and_values_that_are_not_numbers():
    dashboard = _dashboard("t_refuse", Values(value="lots", stray=1, other=float("nan")), fields=("value", "other"))
    channel = await _listen(dashboard)

    await Ticker(dashboards=[dashboard], interval=1.0).tick()

    (message,) = await _received(channel)
    assert message["data"] == {"other": None}


async def test_it_shows_a_failing_panel_as_unknown_and_goes_on_with_the_others():
    def broken(ctx):
        raise RuntimeError("boom")

    dashboard = _dashboard("t_broken", broken)
    dashboard.panels["ok"] = Panel("t_broken", "ok", Values(fine=1), "OK", fields=(Field("fine", "fine"),))
    channel = await _listen(dashboard)

    await Ticker(dashboards=[dashboard], interval=1.0).tick()

    (message,) = await _received(channel)
    assert message["data"] == {"value": None, "fine": 1}


async def test_it_runs_a_slow_panel_beside_the_tick_and_sends_its_answer_with_a_later_one():
    def slow(ctx):
        time.sleep(0.3)
        return {"value": 9}

    dashboard = _dashboard("t_slow", slow, every=5)
    channel = await _listen(dashboard)
    ticker = Ticker(dashboards=[dashboard], interval=1.0)

    started = time.monotonic()
    await ticker.tick()
    assert time.monotonic() - started < 0.25
    await asyncio.sleep(0.5)
    await ticker.tick()

    assert [m["data"] for m in await _received(channel)] == [{}, {"value": 9}]


async def test_it_reads_counters_of_every_process_and_computes_rates():
    counter = Counter("test_ticker_events", "events")
    dashboard = _dashboard(
        "t_metrics",
        lambda ctx: {"value": ctx.total("test_ticker_events_total"), "rate": ctx.rate("test_ticker_events_total", 10)},
        fields=("value", "rate"),
    )
    channel = await _listen(dashboard)
    ticker = Ticker(dashboards=[dashboard], interval=1.0, read_metrics=multiprocess.collect)

    await ticker.tick()
    counter.inc(5)
    await asyncio.sleep(1.0)
    await ticker.tick()

    first, second = await _received(channel)
    assert first["data"]["value"] == 0 and first["data"]["rate"] is None
    assert second["data"]["value"] == 5
    assert 4.0 <= second["data"]["rate"] <= 5.0
