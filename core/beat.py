"""Celery beat's scheduler, giving every task it sends a correlation id of its own.

Without one, a scheduled task's lines in beat ("Scheduler: Sending due task ...") and in the
worker would share no id; with it, one id finds both, like a user's message.
"""

from __future__ import annotations

from django_celery_beat.schedulers import DatabaseScheduler

from core import correlation


class CorrelatedScheduler(DatabaseScheduler):
    def apply_entry(self, entry, producer=None):
        correlation.bind(correlation.new_id())
        try:
            return super().apply_entry(entry, producer=producer)
        finally:
            correlation.clear()
