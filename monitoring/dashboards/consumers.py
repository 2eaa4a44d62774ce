"""``/ws/dashboards/<name>/``: checks rights, then forwards what the ticker publishes.

A consumer computes nothing.  On connect it checks the session (accounts.websocket_auth: active
staff, MFA passed, not timed out) and the dashboard's permission, closing with 4401 or 4403, then
joins its user's group and this process's hub of the dashboard (monitoring.dashboards.fanout: one
channel-layer subscription per dashboard per process, rather than one per socket) and sends the
latest snapshot; updates that arrive meanwhile follow it, those it already covers are dropped.
The ticker's updates are forwarded as they are (one JSON text, serialised once by the ticker).
The client asks ``{"type": "snapshot_request"}`` after a gap in ``seq``; a reconnect gets a
snapshot anyway.

Rights are re-checked when a message on the user's group says so (logout, role or user change)
and, on each tick, once the session's idle or absolute lifetime is reached.  Besides, every
``DASHBOARD_RECHECK_SECONDS`` each server process checks the sessions of all its open sockets in
one query and closes those whose session is gone (deleted, flushed, expired): one query per process
rather than one per socket, which a thousand viewers would turn into a queue that delays updates.
"""

from __future__ import annotations

import asyncio
import json
import time

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings

from accounts.console_socket import ConsoleSocket
from accounts.websocket_auth import SessionCheck, ended_sessions
from core.logging import get_logger
from monitoring.dashboards.access import FORBIDDEN, NOT_FOUND, UNAUTHENTICATED
from monitoring.dashboards.fanout import DashboardHub, dashboard_hub
from monitoring.dashboards.registry import DASHBOARDS
from monitoring.dashboards.store import snapshot_load
from monitoring.dashboards.ticker import ensure_in_process_ticker

log = get_logger(__name__)

# A client in a loop of gaps gets at most this many snapshots per second.
SNAPSHOT_REQUESTS_PER_SECOND = 1.0
EMPTY_SNAPSHOT = json.dumps({"type": "snapshot", "seq": 0, "ts": None, "data": {}})


class DashboardConsumer(ConsoleSocket):
    def refusal_before_session(self) -> int:
        return NOT_FOUND if self.dashboard is None else 0

    def refusal(self, check: SessionCheck) -> int:
        if not self.dashboard.may_view(check.user):
            return FORBIDDEN
        self.expires_at = check.expires_at
        return 0

    def topic_groups(self) -> list[str]:
        return []  # the dashboard's group is heard by the process's hub, not by each socket

    async def connect(self):
        self.dashboard = DASHBOARDS.get(self.scope["url_route"]["kwargs"]["name"])
        self.last_snapshot = 0.0
        self.expires_at = None
        self.hub: DashboardHub | None = None
        self.rechecks: set[asyncio.Task] = set()
        # Updates heard before the first snapshot went out, as (seq, message); None once it has.
        self.held: list[tuple[int, dict]] | None = []
        await super().connect()

    async def ready(self) -> None:
        _open_sessions().add(self)
        self.hub = dashboard_hub(self.dashboard.name, self.dashboard.group)
        try:
            await self.hub.join(self)
            ensure_in_process_ticker()
            await self.release_held(await self._send_snapshot())
        except BaseException:  # the socket dies without a disconnect: the hub must not keep it
            self.hub.leave(self)
            self.hub = None
            raise

    async def disconnect(self, code):
        _open_sessions().discard(self)
        if self.hub is not None:
            self.hub.leave(self)
            self.hub = None
        await super().disconnect(code)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = json.loads(text_data or "")
        except ValueError:
            return
        if isinstance(message, dict) and message.get("type") == "snapshot_request":
            now = time.monotonic()
            if now - self.last_snapshot >= 1 / SNAPSHOT_REQUESTS_PER_SECOND:
                await self._send_snapshot()

    # --- updates from the process's hub ---------------------------------------------------------
    async def forward(self, seq: int, message: dict) -> None:
        """Sends one update (``message``, the same for every socket) unless this socket may not."""
        if self.closed:
            return
        if self.held is not None:
            self.held.append((seq, message))
            return
        if self.expires_at is not None and time.time() >= self.expires_at:
            # The session may have timed out (or been extended by the user's other pages): ask
            # first, without holding up the other sockets.
            task = asyncio.ensure_future(self._recheck_then_send(message))
            self.rechecks.add(task)
            task.add_done_callback(self.rechecks.discard)
            return
        await self.base_send(message)

    async def release_held(self, snapshot_seq: int) -> None:
        """Sends what was heard before the snapshot went out and is newer than it; from now on, forwards."""
        while self.held:
            seq, message = self.held.pop(0)
            if seq > snapshot_seq and not self.closed:
                await self.base_send(message)
        self.held = None

    async def _recheck_then_send(self, message: dict) -> None:
        if await self._recheck():
            await self.base_send(message)

    async def _send_snapshot(self) -> int:
        """Sends the latest snapshot; returns its ``seq``."""
        self.last_snapshot = time.monotonic()
        text = await sync_to_async(snapshot_load, thread_sensitive=False)(self.dashboard.name) or EMPTY_SNAPSHOT
        if not self.closed:
            await self.send(text_data=text)
        try:
            return int(json.loads(text)["seq"])
        except (ValueError, KeyError, TypeError):
            return 0


class OpenSessions:
    """The sessions behind one server process's open sockets, checked together."""

    def __init__(self):
        self.sockets: dict[str, set[DashboardConsumer]] = {}
        self.task: asyncio.Task | None = None

    def add(self, consumer: DashboardConsumer) -> None:
        self.sockets.setdefault(consumer.session_key, set()).add(consumer)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._watch())

    def discard(self, consumer: DashboardConsumer) -> None:
        sockets = self.sockets.get(consumer.session_key)
        if sockets is not None:
            sockets.discard(consumer)
            if not sockets:
                del self.sockets[consumer.session_key]

    async def _watch(self) -> None:
        while self.sockets:
            await asyncio.sleep(settings.DASHBOARD_RECHECK_SECONDS)
            try:
                ended = await database_sync_to_async(ended_sessions)(list(self.sockets))
            except Exception:  # the database is away: try again next round
                log.warning("dashboard_session_check_failed", exc_info=True)
                continue
            for key in ended:
                for consumer in list(self.sockets.get(key, ())):
                    await consumer._close(UNAUTHENTICATED)


_open: dict[asyncio.AbstractEventLoop, OpenSessions] = {}


def _open_sessions() -> OpenSessions:
    loop = asyncio.get_running_loop()
    if loop not in _open:
        _open.clear()  # a closed test loop's sockets are gone with it
        _open[loop] = OpenSessions()
    return _open[loop]
