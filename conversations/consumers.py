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

import asyncio
import contextlib

from asgiref.sync import sync_to_async

from accounts.console_socket import ConsoleSocket
from accounts.websocket_auth import FORBIDDEN, NOT_FOUND, SessionCheck
from conversations.live import WATCH_REFRESH_SECONDS, chat_group, chat_watch
from conversations.models import LineUser
from conversations.takeovers import may_take_over


class ChatConsumer(ConsoleSocket):
    def topic_groups(self) -> list[str]:
        return [chat_group(self.line_user_id)]

    def refusal(self, check: SessionCheck) -> int:
        if not may_take_over(check.user):
            return FORBIDDEN
        if not LineUser.objects.filter(pk=self.line_user_id).exists():
            return NOT_FOUND
        return 0

    async def connect(self):
        self.line_user_id = self.scope["url_route"]["kwargs"]["line_user_id"]
        self.watching = None
        await super().connect()

    async def ready(self) -> None:
        # Producers publish only for a marked chat; marked before "ready", on which the page reloads the chat.
        await sync_to_async(chat_watch, thread_sensitive=False)(line_user_id=self.line_user_id)
        self.watching = asyncio.create_task(self._keep_watching())
        await self.send(text_data='{"type": "ready"}')

    async def _keep_watching(self) -> None:
        while True:
            await asyncio.sleep(WATCH_REFRESH_SECONDS)
            await sync_to_async(chat_watch, thread_sensitive=False)(line_user_id=self.line_user_id)

    async def disconnect(self, code):
        if self.watching is not None:
            self.watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.watching
        await super().disconnect(code)

    async def receive(self, text_data=None, bytes_data=None):
        # The console speaks over HTTP (forms with CSRF and audit); the socket only listens.
        return

    async def chat_update(self, event):
        if self.closed:
            return
        # A chat has a handful of watchers: each update is cheap to check, so a session that ended
        # (signed out, deleted, timed out) never sees what the user says next.
        if not await self._recheck():
            return
        await self.send(text_data=event["text"])
