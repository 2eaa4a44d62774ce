"""``manage.py run_dashboard_ticker``: the one process that publishes the live dashboards.

Run it once per deployment (more for availability: a Redis lock lets one publish at a time).
``--once`` runs a single tick and prints what it published.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import signal

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from monitoring import multiprocess
from monitoring.dashboards.registry import DASHBOARDS
from monitoring.dashboards.ticker import Ticker


class Command(BaseCommand):
    help = "Publishes the live dashboards once per DASHBOARD_TICK_SECONDS (one ticker per deployment)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run one tick, print its messages and stop.")
        parser.add_argument(
            "--dashboard", action="append", dest="dashboards", choices=sorted(DASHBOARDS), help="Only these."
        )

    def handle(self, *args, once=False, dashboards=None, **options):
        if isinstance(get_channel_layer(), InMemoryChannelLayer) and not once:
            raise CommandError(
                "The channel layer is in memory (REDIS_URL is not set): no other process could hear this ticker. "
                "On the embedded default the web server runs the ticker itself."
            )
        chosen = [DASHBOARDS[name] for name in dashboards] if dashboards else None
        # When this process ends its metric files join the archive instead of waiting for a sweep.
        atexit.register(multiprocess.retire, multiprocess.process_identifier())
        if once:
            sent = asyncio.run(self._once(chosen))
            self.stdout.write(json.dumps(sent, indent=2, ensure_ascii=False))
        else:
            asyncio.run(self._run(chosen))

    async def _once(self, chosen):
        ticker = Ticker(dashboards=chosen)
        if not await ticker._hold_lock():
            raise CommandError("Another ticker holds the lock.")
        try:
            sent = await ticker.tick()
            # Slower panels run in threads: give them one more tick to report.
            await asyncio.sleep(settings.DASHBOARD_TICK_SECONDS)
            await asyncio.gather(*(s.task for s in ticker.panels.values() if s.task), return_exceptions=True)
            sent = await ticker.tick()
        finally:
            await ticker._cancel_panels()
            ticker.lock.release()
        return sent

    async def _run(self, chosen):
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await Ticker(dashboards=chosen).run(stop)
