"""N dashboard viewers on one asyncio loop: push lag, lost updates, daphne's memory and CPU.

usage: viewers.py URL ORIGIN SESSIONS_FILE N SECONDS SERVER_PID TICKER_PID
URL, ORIGIN and SERVER_PID may each be a comma-separated list, one item per daphne process (ORIGIN
may stay a single value): viewer i connects to URL number i modulo their count, and the server's
memory and CPU are summed over all the pids.
Each viewer opens the socket with its own session cookie, takes the snapshot, then counts every
update: lag = receive time - the ticker's ``ts``; a jump in ``seq`` is a lost update.
Prints one JSON line of figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

import psutil
from websockets.asyncio.client import connect

# Seconds between two viewers opening their sockets (VIEWER_RAMP_MS).
RAMP_SECONDS = float(os.environ.get("VIEWER_RAMP_MS", "10")) / 1000


class Viewer:
    def __init__(self):
        self.seq: int | None = None
        self.lags: list[float] = []
        self.stamps: list[float] = []
        self.lost = 0
        self.updates = 0
        self.error: str | None = None
        self.connected = asyncio.Event()


async def watch(url: str, origin: str, cookie: str, viewer: Viewer, until: float, measure_from: asyncio.Event):
    # A refused handshake is tried again, as the page does (before the measurement only).
    for attempt in range(5):
        try:
            socket = await connect(url, origin=origin, additional_headers={"Cookie": cookie}, open_timeout=60)
            break
        except Exception as exc:
            if attempt == 4 or measure_from.is_set():
                viewer.error = f"{type(exc).__name__}: {exc}"[:200]
                viewer.connected.set()
                return
            await asyncio.sleep(1 + attempt)
    try:
        async with socket:
            snapshot = json.loads(await socket.recv())
            viewer.seq = snapshot["seq"]
            viewer.connected.set()
            while time.time() < until:
                try:
                    raw = await asyncio.wait_for(socket.recv(), timeout=max(0.1, until - time.time()))
                except TimeoutError:
                    break
                received = time.time()
                message = json.loads(raw)
                if message["type"] == "snapshot":
                    viewer.seq = message["seq"]
                    continue
                if measure_from.is_set():
                    viewer.updates += 1
                    viewer.lags.append(received - message["ts"])
                    viewer.stamps.append(received)
                    if viewer.seq is not None and message["seq"] > viewer.seq + 1:
                        viewer.lost += message["seq"] - viewer.seq - 1
                viewer.seq = message["seq"]
    except Exception as exc:  # a refused or dropped socket is a figure too
        viewer.error = f"{type(exc).__name__}: {exc}"[:200]
        viewer.connected.set()


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def rss(processes: list[psutil.Process]) -> int:
    return sum(p.memory_info().rss for p in processes)


def cpu_seconds(p: psutil.Process) -> float:
    times = p.cpu_times()
    return times.user + times.system


async def main(urls, origins, sessions_file, n, seconds, server_pids, ticker_pid):
    cookies = [line.strip() for line in Path(sessions_file).read_text().splitlines() if line.strip()][:n]
    servers = [psutil.Process(pid) for pid in server_pids]
    ticker, me = psutil.Process(ticker_pid), psutil.Process()
    rss_before = rss(servers)
    viewers = [Viewer() for _ in cookies]
    measure_from = asyncio.Event()
    until = time.time() + 3600
    tasks = []
    for i, (viewer, cookie) in enumerate(zip(viewers, cookies, strict=True)):
        url, origin = urls[i % len(urls)], origins[i % len(origins)]
        tasks.append(asyncio.create_task(watch(url, origin, f"sessionid={cookie}", viewer, until, measure_from)))
        await asyncio.sleep(RAMP_SECONDS)  # a ramp, as browsers arrive
    try:
        await asyncio.wait_for(asyncio.gather(*(v.connected.wait() for v in viewers)), timeout=120)
    except TimeoutError:
        pass  # counted below as not connected
    await asyncio.sleep(3)  # settle
    rss_connected = rss(servers)
    cpu_start = {p: cpu_seconds(p) for p in (*servers, ticker, me)}
    started = time.time()
    measure_from.set()
    await asyncio.sleep(seconds)
    elapsed = time.time() - started
    used = {p: cpu_seconds(p) - cpu_start[p] for p in cpu_start}
    cpu = {
        "server": round(100 * sum(used[p] for p in servers) / elapsed, 1),
        "ticker": round(100 * used[ticker] / elapsed, 1),
        "viewers": round(100 * used[me] / elapsed, 1),
    }
    if len(servers) > 1:
        cpu["each_server"] = [round(100 * used[p] / elapsed, 1) for p in servers]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    lags = [lag for v in viewers for lag in v.lags]
    # Lag over the run, by 10-second window: a backlog shows as a lag that keeps growing.
    windows: dict[int, list[float]] = {}
    for v in viewers:
        for lag, at in zip(v.lags, v.stamps, strict=True):
            windows.setdefault(int((at - started) // 10), []).append(lag)
    lag_p95_by_10s = [round(1000 * percentile(windows[w], 0.95), 1) for w in sorted(windows)]
    errors = [v.error or "never connected" for v in viewers if v.error or v.seq is None]
    expected = int(elapsed)  # one update per second per viewer
    print(
        json.dumps(
            {
                "viewers": n,
                "servers": len(servers),
                "connected": n - len(errors),
                "errors": len(errors),
                "first_error": errors[0] if errors else None,
                "seconds": round(elapsed, 1),
                "updates": sum(v.updates for v in viewers),
                "updates_per_viewer_min": min((v.updates for v in viewers), default=0),
                "updates_expected_per_viewer": expected,
                "lost_updates": sum(v.lost for v in viewers),
                "lag_ms_p50": round(1000 * percentile(lags, 0.50), 1) if lags else None,
                "lag_ms_p95": round(1000 * percentile(lags, 0.95), 1) if lags else None,
                "lag_ms_p99": round(1000 * percentile(lags, 0.99), 1) if lags else None,
                "lag_ms_max": round(1000 * max(lags), 1) if lags else None,
                "lag_ms_mean": round(1000 * statistics.fmean(lags), 1) if lags else None,
                "lag_ms_p95_by_10s": lag_p95_by_10s,
                "server_rss_mb": round(rss_connected / 2**20, 1),
                "memory_per_connection_kb": round((rss_connected - rss_before) / max(1, n) / 1024, 1),
                "cpu_percent_of_a_core": cpu,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    url, origin, sessions_file, n, seconds, server_pid, ticker_pid = sys.argv[1:8]
    urls, origins = url.split(","), origin.split(",")
    server_pids = [int(pid) for pid in server_pid.split(",")]
    if len(urls) != len(server_pids) or len(origins) not in (1, len(urls)):
        sys.exit("viewers.py: give one URL per server pid, and one ORIGIN or one per URL")
    asyncio.run(main(urls, origins, sessions_file, int(n), float(seconds), server_pids, int(ticker_pid)))
