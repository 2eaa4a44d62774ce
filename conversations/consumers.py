"""``/ws/conversations/<line user id>/``: one LINE user's chat, live, for those who may take it over.

The consumer computes nothing.  On connect it checks the session (accounts.websocket_auth: active
staff, MFA passed, not timed out) and the right to take over (``conversations.take_over_conversation``:
Operators and Administrators), closing with 4401, 4403 or 4404 (no such user), then joins the chat's
group and its user's group.  What producers publish (:mod:`conversations.live`) is forwarded as it is.
The page loads the chat over HTTP on each (re)connect, so a socket needs no snapshot of its own.

Rights are re-checked when a message on the user's group says so (logout, role or user change) and
before each update is forwarded (a chat has few watchers, unlike a dashboard).
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.websocket_auth import (
    FORBIDDEN,
    NOT_FOUND,
    UNAUTHENTICATED,
    session_hash,
    user_group,
    verified_session,
)
from conversations.live import chat_group
from conversations.models import LineUser
from conversations.takeovers import may_take_over


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.line_user_id = self.scope["url_route"]["kwargs"]["line_user_id"]
        session = self.scope.get("session")
        self.session_key = getattr(session, "session_key", None)
        self.user_id = None
        self.closed = False
        self.groups_joined: list[str] = []
        # Accepted first: a close code only reaches the browser on an open socket.
        await self.accept()
        code = await self._check()
        if code:
            await self._close(code)
            return
        for group in (chat_group(self.line_user_id), user_group(self.user_id)):
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        await self.send(text_data='{"type": "ready"}')

    async def disconnect(self, code):
        self.closed = True
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    async def receive(self, text_data=None, bytes_data=None):
        # The console speaks over HTTP (forms with CSRF and audit); the socket only listens.
        return

    # --- messages from the channel layer --------------------------------------------------------
    async def chat_update(self, event):
        if self.closed:
            return
        # A chat has a handful of watchers: each update is cheap to check, so a session that ended
        # (signed out, deleted, timed out) never sees what the user says next.
        if not await self._recheck():
            return
        await self.send(text_data=event["text"])

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
        if not may_take_over(check.user):
            return FORBIDDEN
        if not LineUser.objects.filter(pk=self.line_user_id).exists():
            return NOT_FOUND
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
