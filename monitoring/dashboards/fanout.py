"""One subscription per dashboard per server process, handing each update to that process's sockets.

Left to Channels, every socket would be a channel-layer channel of its own: each tick the layer
would queue the update once per socket, and each socket would wake its own task, decode the
message and send it.  Here a process listens to a dashboard's group once (a channel of its own,
joined to the group, through the ordinary channel-layer API, so either channels-redis layer or the
in-memory one works) and each socket that may see the dashboard registers with it.  On each update
the hub reads ``seq`` and ``ts`` once and hands the same text, as the ticker encoded it, to every
registered socket in one pass; the socket still decides whether it may forward it
(:meth:`monitoring.dashboards.consumers.DashboardConsumer.forward`).

``dashboard_fanout_seconds`` is the time from the tick's ``ts`` to the update handed to the last
socket of the process: the server's share of the push lag, whatever the viewers' side adds.
The hub stops listening when its last socket leaves.  (With the core layer, its group membership
expires after ``group_expiry`` as any consumer's would; the pub/sub layer, the default, has none.)
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

import orjson
from channels.layers import get_channel_layer
from prometheus_client import Histogram

from core.logging import get_logger

log = get_logger(__name__)

FANOUT_SECONDS = Histogram(
    "dashboard_fanout_seconds",
    "From a dashboard tick's timestamp to its update handed to the last socket of a server process",
    ["dashboard"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0),
)


class Subscriber(Protocol):
    async def forward(self, seq: int, message: dict) -> None: ...


class DashboardHub:
    """The sockets of one dashboard in this process, and the one channel-layer channel that feeds them."""

    def __init__(self, dashboard: str, group: str):
        self.dashboard = dashboard
        self.group = group
        self.sockets: dict[Subscriber, None] = {}  # ordered: earlier sockets are served first
        self.subscribed = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def join(self, socket: Subscriber) -> None:
        """Registers the socket; returns once the process hears the group, so no later update is missed."""
        self.sockets[socket] = None
        if self.task is None or self.task.done():
            self.subscribed.clear()
            self.task = asyncio.ensure_future(self._listen())
        if self.subscribed.is_set():
            return
        subscribed = asyncio.ensure_future(self.subscribed.wait())
        await asyncio.wait({subscribed, self.task}, return_when=asyncio.FIRST_COMPLETED)
        if not self.subscribed.is_set():  # the channel layer refused: the socket fails as it would have
            subscribed.cancel()
            self.sockets.pop(socket, None)
            self.task.result()
            raise RuntimeError(f"dashboard {self.dashboard}: no subscription")

    def leave(self, socket: Subscriber) -> None:
        self.sockets.pop(socket, None)
        if not self.sockets and self.task is not None:
            self.task.cancel()
            self.task = None
            hubs = _hubs()
            if hubs.get(self.dashboard) is self:
                del hubs[self.dashboard]

    async def _listen(self) -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(self.group, channel)
        self.subscribed.set()
        try:
            while True:
                try:
                    message = await layer.receive(channel)
                except Exception:  # the layer lost Redis: it reconnects, so do we
                    log.warning("dashboard_fanout_receive_failed", dashboard=self.dashboard, exc_info=True)
                    await asyncio.sleep(1.0)
                    continue
                try:
                    await self.deliver(message)
                except Exception:  # one bad message must not end the dashboard
                    log.exception("dashboard_fanout_failed", dashboard=self.dashboard)
        finally:
            await asyncio.shield(layer.group_discard(self.group, channel))

    async def deliver(self, message: dict) -> None:
        text = message["text"]
        update = orjson.loads(text)
        seq, ts = update["seq"], update.get("ts")
        send = {"type": "websocket.send", "text": text}
        for socket in list(self.sockets):
            try:
                await socket.forward(seq, send)
            except Exception:  # a socket that fails to send must not cost the others theirs
                log.warning("dashboard_forward_failed", dashboard=self.dashboard, exc_info=True)
        if isinstance(ts, int | float):
            FANOUT_SECONDS.labels(dashboard=self.dashboard).observe(max(0.0, time.time() - ts))


_hubs_by_loop: dict[asyncio.AbstractEventLoop, dict[str, DashboardHub]] = {}


def _hubs() -> dict[str, DashboardHub]:
    loop = asyncio.get_running_loop()
    if loop not in _hubs_by_loop:
        _hubs_by_loop.clear()  # a closed test loop's hubs are gone with it
        _hubs_by_loop[loop] = {}
    return _hubs_by_loop[loop]


def dashboard_hub(dashboard: str, group: str) -> DashboardHub:
    """This process's hub of the dashboard, made on first use."""
    hubs = _hubs()
    hub = hubs.get(dashboard)
    if hub is None:
        hub = hubs[dashboard] = DashboardHub(dashboard, group)
    return hub
