"""The base of every console socket: staff only, rights checked on connect and whenever they may change.

A console socket only listens. On connect it checks the session (active staff, MFA passed, not timed
out, :func:`accounts.websocket_auth.verified_session`) and the subclass's right, closing with 4401,
4403 or 4404, then joins its topic's groups and its user's group. A logout, a role change or a change
of the user is announced on the user's group (``access_revoked``, ``access_changed``), and the socket
checks again.
"""

from __future__ import annotations

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.websocket_auth import UNAUTHENTICATED, SessionCheck, session_hash, user_group, verified_session


class ConsoleSocket(AsyncWebsocketConsumer):
    def refusal_before_session(self) -> int:
        """A close code known from the URL alone (e.g. 4404), or 0."""
        return 0

    def refusal(self, check: SessionCheck) -> int:
        """The close code for this signed-in staff user (e.g. 4403 without the right), or 0. Runs in a thread."""
        raise NotImplementedError

    def topic_groups(self) -> list[str]:
        raise NotImplementedError

    async def ready(self) -> None:
        """Called once the socket has joined its groups."""

    async def dispatch(self, message):
        # Channels' own dispatch first closes the stale database connections of the one thread for
        # synchronous work: a hop to that thread per message and per socket, which at a thousand
        # sockets was most of a dashboard tick's cost and queued its sends behind each other.  These
        # sockets reach the database only through database_sync_to_async, which closes stale
        # connections around each call in that thread itself.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self):
        session = self.scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        self.user_id = None
        self.closed = False
        self.groups_joined: list[str] = []
        # Accepted first: a close code only reaches the browser on an open socket.
        await self.accept()
        code = self.refusal_before_session() or await self._check()
        if code:
            await self._close(code)
            return
        for group in (*self.topic_groups(), user_group(self.user_id)):
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        await self.ready()

    async def disconnect(self, code):
        self.closed = True
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    # --- messages from the user's group ---------------------------------------------------------
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
        code = self.refusal(check)
        if code:
            return code
        self.user_id = check.user.pk
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
