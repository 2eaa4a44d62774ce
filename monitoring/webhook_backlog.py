"""LINE events still waiting, as series for alert rules: the relay or the workers stopped or fell behind.

- ``webhook_events_unpublished`` and ``webhook_events_unpublished_oldest_seconds``: in the outbox, not yet
  published by the relay (``CONVERSATION_DISPATCH = "outbox"``; always zero otherwise);
- ``webhook_events_unfinished`` and ``webhook_events_unfinished_oldest_seconds``: stored and not yet final.

The reply objective cannot see either: it counts replies, and an event nobody works on is never replied to.
"""

from __future__ import annotations

from conversations.selectors import webhook_backlog
from monitoring.series import register_series

register_series("webhook_backlog", webhook_backlog)
