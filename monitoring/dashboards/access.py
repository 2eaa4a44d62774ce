"""Telling open dashboard sockets that their rights may have changed.

Each socket joins its user's group; a logout, a role change or a change of the user (deactivated,
staff flag, password, MFA device) sends that group a message and each socket re-checks, closing
with 4401 (no valid session) or 4403 (no right to this dashboard).
"""

from __future__ import annotations

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

# The live chat's sockets (conversations.consumers) join the same user group and hear the same messages.
from accounts.websocket_auth import FORBIDDEN, NOT_FOUND, UNAUTHENTICATED, session_hash, user_group
from core.logging import get_logger

log = get_logger(__name__)

__all__ = ["FORBIDDEN", "NOT_FOUND", "UNAUTHENTICATED", "rights_changed", "session_ended", "session_hash", "user_group"]


def notify_users(user_ids, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    for user_id in set(user_ids):
        # Sockets also re-check on their own schedule, so a message that cannot be sent is logged only.
        try:
            if loop is not None:  # synchronous code called from an event loop's own thread
                loop.create_task(layer.group_send(user_group(user_id), message))
            else:
                async_to_sync(layer.group_send)(user_group(user_id), message)
        except Exception:
            log.warning("dashboard_access_notify_failed", user_id=user_id, exc_info=True)


def session_ended(user_id: int, session_key: str | None) -> None:
    notify_users([user_id], {"type": "access.revoked", "session": session_hash(session_key)})


def rights_changed(user_ids) -> None:
    notify_users(user_ids, {"type": "access.changed"})
