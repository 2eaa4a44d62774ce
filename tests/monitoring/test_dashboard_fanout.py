"""One subscription per dashboard per server process (monitoring.dashboards.fanout), and how sockets use it."""

import asyncio
import json
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings as django_settings

from accounts import roles
from linebot_project.settings.base import channel_layer_settings
from monitoring.dashboards.consumers import DashboardConsumer
from monitoring.dashboards.fanout import dashboard_hub
from tests.monitoring.conftest import dashboard_socket, metric, session_for

pytestmark = [pytest.mark.asyncio]

GROUP = "dashboard.operations"


def _update_text(seq: int, data: dict, ts: float | None = None) -> str:
    return json.dumps({"type": "update", "seq": seq, "ts": ts if ts is not None else time.time(), "data": data})


async def _publish(seq: int, data: dict, ts: float | None = None) -> str:
    text = _update_text(seq, data, ts)
    await get_channel_layer().group_send(GROUP, {"type": "dashboard.update", "text": text})
    return text


class Socket:
    """Stands for a dashboard socket registered with the hub: keeps what it is handed."""

    def __init__(self, *, fails: bool = False):
        self.fails = fails
        self.sent: list[dict] = []
        self.got = asyncio.Event()

    async def forward(self, seq: int, message: dict) -> None:
        if self.fails:
            raise ConnectionResetError("the client went away")
        self.sent.append(message)
        self.got.set()


async def _hub_members() -> set:
    return set(get_channel_layer().groups.get(GROUP, {}))


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_thread_connections")
async def test_it_hears_a_dashboard_once_per_process_whatever_the_number_of_sockets(make_staff):
    user = await database_sync_to_async(make_staff)("operator", role=roles.OPERATOR)
    sockets = [dashboard_socket("operations", await database_sync_to_async(session_for)(user)) for _ in range(3)]
    before = await _hub_members()  # sockets other tests left open, on loops that are gone
    for socket in sockets:
        assert (await socket.connect())[0]
        assert json.loads(await socket.receive_from(timeout=3))["type"] == "snapshot"

    assert len(await _hub_members() - before) == 1
    sent = await _publish(1, {"alerts_open": 2})
    for socket in sockets:
        assert await socket.receive_from(timeout=3) == sent
        await socket.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("close_thread_connections")
async def test_it_stops_hearing_the_dashboard_when_its_last_socket_closes(make_staff):
    user = await database_sync_to_async(make_staff)("operator", role=roles.OPERATOR)
    first = dashboard_socket("operations", await database_sync_to_async(session_for)(user))
    second = dashboard_socket("operations", await database_sync_to_async(session_for)(user))
    before = await _hub_members()  # sockets other tests left open, on loops that are gone
    for socket in (first, second):
        await socket.connect()
        await socket.receive_from(timeout=3)

    await first.disconnect()
    assert len(await _hub_members() - before) == 1
    await second.disconnect()
    await asyncio.sleep(0.05)  # the hub's listener leaves the group as it ends

    assert await _hub_members() - before == set()


async def test_it_sends_what_it_heard_while_the_snapshot_loaded_after_it_and_only_what_is_newer():
    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    consumer = DashboardConsumer()
    consumer.base_send = send
    consumer.closed, consumer.expires_at, consumer.held = False, None, []
    covered, newer, next_one = ({"type": "websocket.send", "text": _update_text(seq, {})} for seq in (41, 42, 43))

    await consumer.forward(41, covered)
    await consumer.forward(42, newer)
    assert sent == []  # nothing goes out before the snapshot
    await consumer.release_held(41)
    await consumer.forward(43, next_one)

    assert sent == [newer, next_one]


async def test_it_hands_the_same_update_to_every_socket_and_goes_on_past_one_that_fails():
    hub = dashboard_hub("operations", GROUP)
    failing, first, second = Socket(fails=True), Socket(), Socket()
    for socket in (failing, first, second):
        await hub.join(socket)

    text = await _publish(7, {"webhook_events_total": 3})
    await asyncio.wait_for(second.got.wait(), timeout=3)

    assert first.sent == second.sent == [{"type": "websocket.send", "text": text}]
    for socket in (failing, first, second):
        hub.leave(socket)


async def test_it_records_how_long_after_the_tick_the_process_handed_the_update_to_its_last_socket():
    hub = dashboard_hub("operations", GROUP)
    socket = Socket()
    await hub.join(socket)
    count = metric("dashboard_fanout_seconds_count", dashboard="operations")
    total = metric("dashboard_fanout_seconds_sum", dashboard="operations")

    await _publish(1, {}, ts=time.time() - 0.2)  # published 200 ms ago
    await asyncio.wait_for(socket.got.wait(), timeout=3)
    hub.leave(socket)

    assert metric("dashboard_fanout_seconds_count", dashboard="operations") == count + 1
    assert 0.2 <= metric("dashboard_fanout_seconds_sum", dashboard="operations") - total < 5


async def test_it_hears_the_dashboard_over_the_redis_pubsub_layer(settings):
    settings.CHANNEL_LAYERS = channel_layer_settings(
        django_settings.REDIS_URL, django_settings.REDIS_KEY_PREFIX, "pubsub"
    )
    layer = get_channel_layer()
    assert type(layer).__name__ == "RedisPubSubChannelLayer"
    hub = dashboard_hub("operations", GROUP)
    first, second = Socket(), Socket()
    await hub.join(first)
    await hub.join(second)
    try:
        text = await _publish(5, {"alerts_open": 1})
        await asyncio.wait_for(second.got.wait(), timeout=3)

        assert first.sent == second.sent == [{"type": "websocket.send", "text": text}]
    finally:
        hub.leave(first)
        hub.leave(second)
        await asyncio.sleep(0.05)
        await layer.flush()
