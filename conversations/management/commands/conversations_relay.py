"""Runs the outbox relay until stopped (CONVERSATION_DISPATCH = "outbox"; see conversations.relay)."""

from __future__ import annotations

import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from conversations.packing import Packing
from conversations.relay import RelayPace, webhook_events_relay
from core.logging import get_logger

log = get_logger(__name__)


class Command(BaseCommand):
    help = "Publishes stored webhook events to the workers in batches (the outbox relay)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=500)
        parser.add_argument("--once", action="store_true", help="One round, then exit.")

    def handle(self, *args, batch: int, once: bool, **options):
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        packing = Packing(largest=settings.CONVERSATION_EVENTS_PER_TASK)
        pace = RelayPace(busy=settings.CONVERSATION_RELAY_IDLE_SECONDS, quiet=settings.CONVERSATION_RELAY_QUIET_SECONDS)
        while not stopping:
            try:
                published = webhook_events_relay(limit=batch, packing=packing)
            except Exception:  # the database or the broker is away: try again shortly
                log.exception("conversations_relay_failed")
                close_old_connections()
                published = 0
                time.sleep(1.0)
            if once:
                self.stdout.write(f"published {published}")
                return
            wait = pace.wait_after(published=published, now=time.monotonic())
            if published < batch:  # a full batch means more are waiting
                time.sleep(wait)
