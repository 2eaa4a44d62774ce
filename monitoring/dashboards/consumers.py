"""``/ws/dashboards/<name>/``: checks rights, then forwards what the ticker publishes.

A consumer computes nothing.  On connect it checks the session (accounts.websocket_auth: active
staff, MFA passed, not timed out) and the dashboard's permission, closing with 4401 or 4403, then
joins the dashboard's group and its user's group and sends the latest snapshot.  The ticker's
updates are forwarded as they are (one JSON text, serialised once by the ticker).  The client asks
``{"type": "snapshot_request"}`` after a gap in ``seq``; a reconnect gets a snapshot anyway.

Rights are re-checked when a message on the user's group says so (logout, role or user change),
when the session's idle or absolute lifetime is reached, and at least every
``DASHBOARD_RECHECK_SECONDS`` (checked on each tick, so a session deleted behind our back ends too).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from accounts.websocket_auth import verified_session
from monitoring.dashboards.access import FORBIDDEN, NOT_FOUND, UNAUTHENTICATED, session_hash, user_group
from monitoring.dashboards.registry import DASHBOARDS
from monitoring.dashboards.store import snapshot_load
from monitoring.dashboards.ticker import ensure_in_process_ticker

# A client in a loop of gaps gets at most this many snapshots per second.
SNAPSHOT_REQUESTS_PER_SECOND = 1.0
EMPTY_SNAPSHOT = json.dumps({"type": "snapshot", "seq": 0, "ts": None, "data": {}})


class DashboardConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.dashboard = DASHBOARDS.get(self.scope["url_route"]["kwargs"]["name"])
        session = self.scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        self.user_id = None
        self.closed = False
        self.groups_joined: list[str] = []
        self.last_snapshot = 0.0
        self.pending_check = None
        # Accepted first: a close code only reaches the browser on an open socket.
        await self.accept()
        if self.dashboard is None:
            await self._close(NOT_FOUND)
            return
        code = await self._check()
        if code:
            await self._close(code)
            return
        for group in (self.dashboard.group, user_group(self.user_id)):
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        ensure_in_process_ticker()
        await self._send_snapshot()

    async def disconnect(self, code):
        self.closed = True
        if self.pending_check is not None:
            self.pending_check.cancel()
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = json.loads(text_data or "")
        except ValueError:
            return
        if isinstance(message, dict) and message.get("type") == "snapshot_request":
            now = time.monotonic()
            if now - self.last_snapshot >= 1 / SNAPSHOT_REQUESTS_PER_SECOND:
                await self._send_snapshot()

    # --- messages from the channel layer --------------------------------------------------------
    async def dashboard_update(self, event):
        if self.closed:
            return
        if self.expires_at is not None and time.time() >= self.expires_at:
            # The session may have timed out (or been extended by the user's other pages): ask first.
            if not await self._recheck():
                return
        elif time.monotonic() >= self.recheck_at and self.pending_check is None:
            # A routine re-check must not hold up the update: it runs beside it and closes the socket
            # if the session is gone.
            self.recheck_at = math.inf
            self.pending_check = asyncio.ensure_future(self._recheck())
            self.pending_check.add_done_callback(self._check_done)
        await self.send(text_data=event["text"])

    def _check_done(self, task) -> None:
        self.pending_check = None

    async def access_revoked(self, event):
        if event.get("session") == session_hash(self.session_key):
            await self._close(UNAUTHENTICATED)
        else:
            await self._recheck()

    async def access_changed(self, event):
        await self._recheck()

    # --- rights ---------------------------------------------------------------------------------
    @database_sync_to_async
    def _check(self) -> int:
        check = verified_session(self.session_key)
        if check.user is None:
            return UNAUTHENTICATED
        if not self.dashboard.may_view(check.user):
            return FORBIDDEN
        self.user_id = check.user.pk
        self.expires_at = check.expires_at
        # Spread out, so that a thousand sockets opened together do not all re-check in one tick.
        self.recheck_at = time.monotonic() + settings.DASHBOARD_RECHECK_SECONDS * random.uniform(0.5, 1.0)  # noqa: S311
        return 0

    async def _recheck(self) -> bool:
        if self.closed:
            return False
        code = await self._check()
        if code:
            await self._close(code)
            return False
        return True

    async def _close(self, code: int) -> None:
        if not self.closed:
            self.closed = True
            await self.close(code=code)

    async def _send_snapshot(self) -> None:
        self.last_snapshot = time.monotonic()
        text = await sync_to_async(snapshot_load, thread_sensitive=False)(self.dashboard.name)
        if not self.closed:
            await self.send(text_data=text or EMPTY_SNAPSHOT)
