"""The one ticker: reads every process's metrics, runs the panels, publishes to each dashboard's group.

Producers only increment counters; nothing is sent per webhook event.  Once per period (at least a
second, ``DASHBOARD_TICK_SECONDS``) the ticker publishes one message per dashboard to its
channel-layer group, ``{"type": "update", "seq": n, "ts": t, "data": {changed keys}}``, and keeps the
full ``{"type": "snapshot", ...}`` in Redis for sockets that connect or notice a gap.  ``seq`` grows by
one per message of a dashboard and carries on from the stored snapshot when another ticker takes
over; ``ts`` is the publishing time (epoch seconds), so viewers can measure how late a push arrives.
A key that disappears (an error kind gone quiet) is sent once as ``null``.

A Redis lock makes sure only one ticker publishes (``run_dashboard_ticker`` may run in several
places for availability).  Panels slower than a tick (``every`` > 1: the database, the broker) run
in threads and their latest answer is used, so a slow query never delays a tick.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections.abc import Callable, Iterable

import orjson
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from prometheus_client import Histogram

from core.logging import get_logger
from monitoring import multiprocess
from monitoring.dashboards.context import History, Samples, TickContext
from monitoring.dashboards.registry import DASHBOARDS, Dashboard, Panel
from monitoring.dashboards.store import TickerLock, snapshot_load, snapshot_save

log = get_logger(__name__)

SWEEP_EVERY = 60.0
# From the start of a tick to its update handed to the channel layer: the dashboard push lag SLI
# (monitoring.series) counts the ones within 250 ms.
PUSH_SECONDS = Histogram(
    "dashboard_push_seconds",
    "From the start of a dashboard tick to its update published",
    ["dashboard"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
_FAILURE_LOG_EVERY = 60.0


def _clean(value):
    """The value to send, None for unknown, or ``...`` when it is no number at all (refused)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ...
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _PanelState:
    def __init__(self, panel: Panel):
        self.panel = panel
        self.result: dict = {}
        self.last_run = -math.inf
        self.task: asyncio.Task | None = None
        self.failing_since: float | None = None
        self.last_failure_log = -math.inf
        self.warned_keys: set[str] = set()


class _DashboardState:
    def __init__(self, dashboard: Dashboard):
        self.dashboard = dashboard
        self.seq = 0
        self.data: dict = {}
        self.last_published = -math.inf


def today_start(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


class Ticker:
    def __init__(
        self,
        *,
        dashboards: Iterable[Dashboard] | None = None,
        interval: float | None = None,
        channel_layer=None,
        lock: TickerLock | None = None,
        read_metrics: Callable[[], list] = multiprocess.collect,
        clock: Callable[[], float] = time.time,
    ):
        self.dashboards = list(dashboards) if dashboards is not None else list(DASHBOARDS.values())
        self.interval = max(1.0, interval if interval is not None else settings.DASHBOARD_TICK_SECONDS)
        self.channel_layer = channel_layer or get_channel_layer()
        self.lock = lock or TickerLock(ttl=max(5.0, 3 * self.interval))
        self.read_metrics = read_metrics
        self.clock = clock
        self.history = History()
        self.states = {d.name: _DashboardState(d) for d in self.dashboards}
        self.panels: dict[tuple[str, str], _PanelState] = {}
        self.holding = False
        self._last_sweep = -math.inf

    # --- the loop -------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        log.info("dashboard_ticker_started", interval=self.interval, dashboards=[d.name for d in self.dashboards])
        try:
            while not stop.is_set():
                started = time.monotonic()
                if await self._hold_lock():
                    try:
                        await self.tick()
                    except Exception:
                        log.exception("dashboard_tick_failed")
                await self._sleep(stop, self.interval - (time.monotonic() - started))
        finally:
            await self._cancel_panels()
            if self.holding:
                await sync_to_async(self.lock.release, thread_sensitive=False)()
                self.holding = False
            log.info("dashboard_ticker_stopped")

    @staticmethod
    async def _sleep(stop: asyncio.Event, seconds: float) -> None:
        if seconds > 0:
            try:
                await asyncio.wait_for(stop.wait(), timeout=seconds)
            except TimeoutError:
                pass

    async def _hold_lock(self) -> bool:
        if self.holding:
            self.holding = await sync_to_async(self.lock.renew, thread_sensitive=False)()
            if not self.holding:
                log.warning("dashboard_ticker_lock_lost")
            return self.holding
        self.holding = await sync_to_async(self.lock.acquire, thread_sensitive=False)()
        if self.holding:
            log.info("dashboard_ticker_lock_acquired")
            await self._resume()
        return self.holding

    async def _resume(self) -> None:
        """Carries on from the stored snapshots: the same sequence, deltas against what viewers have."""
        for state in self.states.values():
            text = await sync_to_async(snapshot_load, thread_sensitive=False)(state.dashboard.name)
            if not text:
                continue
            try:
                stored = orjson.loads(text)
                state.seq, state.data = int(stored["seq"]), dict(stored["data"])
            except (ValueError, KeyError, TypeError):
                log.warning("dashboard_snapshot_unreadable", dashboard=state.dashboard.name)

    # --- one tick -------------------------------------------------------------------------------
    async def tick(self) -> dict[str, dict]:
        """Collects and publishes; returns the update sent to each dashboard (for tests and --once)."""
        at = time.monotonic()
        families = await sync_to_async(self.read_metrics, thread_sensitive=False)()
        samples = Samples.from_families(families, at=at)
        self.history.add(samples)
        now = timezone.now()
        ctx = TickContext(now=now, today_start=today_start(now), samples=samples, history=self.history)
        if at - self._last_sweep >= SWEEP_EVERY:
            self._last_sweep = at
            try:
                await sync_to_async(multiprocess.sweep, thread_sensitive=False)()
            except OSError:
                log.warning("metrics_sweep_failed", exc_info=True)

        sent = {}
        for state in self.states.values():
            data = {}
            for panel in state.dashboard.ordered_panels():
                data.update(self._panel_result(panel, ctx, at))
            sent[state.dashboard.name] = await self._publish(state, data)
            PUSH_SECONDS.labels(dashboard=state.dashboard.name).observe(time.monotonic() - at)
        return sent

    def _panel_result(self, panel: Panel, ctx: TickContext, at: float) -> dict:
        key = (panel.dashboard, panel.name)
        state = self.panels.get(key)
        if state is None or state.panel is not panel:
            state = self.panels[key] = _PanelState(panel)
        if panel.every <= 1.0:  # reads the metrics only: every tick, in the loop
            state.last_run = at
            state.result = self._checked(state, self._run_inline(state, ctx))
        elif at - state.last_run >= panel.every - 0.05 and (state.task is None or state.task.done()):
            state.last_run = at
            state.task = asyncio.ensure_future(self._run_in_thread(state, ctx))
        return state.result

    def _run_inline(self, state: _PanelState, ctx: TickContext) -> dict | None:
        try:
            result = state.panel.collect(ctx)
        except Exception:  # noqa: BLE001 - a broken panel shows as unknown, the others go on
            self._failed(state)
            return None
        state.failing_since = None
        return result

    async def _run_in_thread(self, state: _PanelState, ctx: TickContext) -> None:
        result = await sync_to_async(self._collect_with_db, thread_sensitive=False)(state, ctx)
        state.result = self._checked(state, result)

    def _collect_with_db(self, state: _PanelState, ctx: TickContext) -> dict | None:
        close_old_connections()
        try:
            return self._run_inline(state, ctx)
        finally:
            close_old_connections()

    def _failed(self, state: _PanelState) -> None:
        now = time.monotonic()
        if state.failing_since is None:
            state.failing_since = now
        if now - state.last_failure_log >= _FAILURE_LOG_EVERY:
            state.last_failure_log = now
            log.exception("dashboard_panel_failed", dashboard=state.panel.dashboard, panel=state.panel.name)

    def _checked(self, state: _PanelState, result: dict | None) -> dict:
        panel = state.panel
        if result is None:  # failed: its numbers are unknown now, not the last ones seen
            return {f.key: None for f in panel.fields}
        checked = {}
        for key, value in result.items():
            value = _clean(value)
            if not isinstance(key, str) or not panel.owns(key) or value is ...:
                if key not in state.warned_keys:
                    state.warned_keys.add(key)
                    log.warning("dashboard_panel_key_refused", dashboard=panel.dashboard, panel=panel.name, key=key)
                continue
            checked[key] = value
        return checked

    async def _publish(self, state: _DashboardState, data: dict) -> dict:
        # Never two messages of one dashboard within a period, whatever the loop did.
        wait = state.last_published + self.interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        delta = {key: value for key, value in data.items() if key not in state.data or state.data[key] != value}
        delta.update({key: None for key in state.data if key not in data})
        state.seq += 1
        state.data = data
        state.last_published = time.monotonic()
        ts = round(self.clock(), 3)
        update = {"type": "update", "seq": state.seq, "ts": ts, "data": delta}
        await self.channel_layer.group_send(
            state.dashboard.group, {"type": "dashboard.update", "text": orjson.dumps(update).decode()}
        )
        # Stored after sending, so that ts is the publishing time; a socket that asks in between
        # gets the previous snapshot, sees the gap and asks again.
        snapshot = orjson.dumps({"type": "snapshot", "seq": state.seq, "ts": ts, "data": data}).decode()
        await sync_to_async(snapshot_save, thread_sensitive=False)(state.dashboard.name, snapshot)
        return update

    async def _cancel_panels(self) -> None:
        tasks = [s.task for s in self.panels.values() if s.task is not None and not s.task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


# --- the embedded default: the web server runs the ticker --------------------------------------------
_in_process: dict[asyncio.AbstractEventLoop, asyncio.Task] = {}


def ensure_in_process_ticker() -> None:
    """Starts the ticker in this server's event loop when there is no shared channel layer."""
    if not settings.DASHBOARD_TICKER_IN_PROCESS:
        return
    loop = asyncio.get_running_loop()
    task = _in_process.get(loop)
    if task is None or task.done():
        _in_process[loop] = loop.create_task(Ticker().run())
