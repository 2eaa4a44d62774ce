"""Telling the consoles that watch one LINE user's chat what changed: the one way producers publish.

Whatever writes to a user's chat (a message arrives, the bot or an operator answers, a takeover starts
or ends) calls :func:`chat_changed`.  After the transaction commits, the new transcript items are read
back and sent once, as one JSON text, to the chat's group; the sockets of ``/ws/conversations/<id>/``
(:mod:`conversations.consumers`) forward it as it is.  Nothing is sent for a transaction that rolls back.

Most chats have nobody watching, and reading the transcript back costs the worker more SQL than
the rest of an answer's bookkeeping.  So a watching socket marks its chat in Redis
(:func:`chat_watch`, again every ``WATCH_REFRESH_SECONDS`` while it is open), and nothing is read or
sent for a chat without a mark.  The mark is set before the socket says ``ready``, and the page
reloads the chat over HTTP on ``ready``: whatever committed before the mark is in that reload.
"""

from __future__ import annotations

import asyncio
import json

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from core.logging import get_logger
from core.redis import get_redis

log = get_logger(__name__)


def chat_group(line_user_id: int) -> str:
    return f"chat.{line_user_id}"


WATCH_REFRESH_SECONDS = 30
# Outlives two missed refreshes; a mark left by a socket that died only costs a few idle publishes.
_WATCH_SECONDS = 3 * WATCH_REFRESH_SECONDS


def _watch_key(line_user_id: int) -> str:
    return f"conv:watched:{line_user_id}"


def chat_watch(*, line_user_id: int) -> None:
    """Marks the user's chat as watched for the next ``_WATCH_SECONDS``."""
    get_redis().set(_watch_key(line_user_id), b"1", ttl=_WATCH_SECONDS)


def chat_watched(line_user_id: int) -> bool:
    return get_redis().get(_watch_key(line_user_id)) is not None


def chat_changed(*, line_user_id: int, message_ids=(), takeover_ids=()) -> None:
    """Publishes the given messages and takeover changes of the user's chat once the transaction commits."""
    message_ids, takeover_ids = list(message_ids), list(takeover_ids)
    transaction.on_commit(lambda: _publish(line_user_id, message_ids, takeover_ids))


def chat_update_text(line_user_id: int, message_ids, takeover_ids) -> str:
    from conversations.transcripts import chat_items, takeover_state

    data = {
        "type": "update",
        "items": chat_items(line_user_id=line_user_id, message_ids=message_ids, takeover_ids=takeover_ids),
        "takeover": takeover_state(line_user_id=line_user_id),
    }
    return json.dumps(data, cls=DjangoJSONEncoder)


def _publish(line_user_id: int, message_ids, takeover_ids) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    # Watching is a convenience: a message that cannot be sent must never fail the bot's answer.
    try:
        if not chat_watched(line_user_id):
            return
        text = chat_update_text(line_user_id, message_ids, takeover_ids)
        message = {"type": "chat.update", "text": text}
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:  # synchronous code called from an event loop's own thread
            loop.create_task(layer.group_send(chat_group(line_user_id), message))
        else:
            async_to_sync(layer.group_send)(chat_group(line_user_id), message)
    except Exception:
        log.warning("chat_publish_failed", line_user_id=line_user_id, exc_info=True)
