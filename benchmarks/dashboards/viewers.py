"""N dashboard viewers: push lag, lost updates, the servers' own share of the lag, memory and CPU.

usage: viewers.py URL ORIGIN SESSIONS_FILE N SECONDS SERVER_PID TICKER_PID
URL, ORIGIN and SERVER_PID may each be a comma-separated list, one item per daphne process (ORIGIN
may stay a single value): viewer i connects to URL number i modulo their count, and the server's
memory and CPU are summed over all the pids.
Each viewer opens the socket with its own session cookie, takes the snapshot, then counts every
update: lag = receive time - the ticker's ``ts``; a jump in ``seq`` is a lost update.

``VIEWER_PROCESSES`` (default 1) spreads the viewers over that many client processes, one asyncio
loop each (viewer i in process i modulo their count), so that the client's own receiving is less
of the lag it measures.  The servers' share is read from their ``dashboard_fanout_seconds``
histogram (time from the tick's ``ts`` to the update handed to the last socket of the process), as
its buckets allow.  ``PYSPY_DIR``: a ``py-spy record`` of each server over the measured seconds.
Prints one JSON line of figures.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psutil
from websockets.asyncio.client import connect

# Seconds between two viewers opening their sockets (VIEWER_RAMP_MS).
RAMP_SECONDS = float(os.environ.get("VIEWER_RAMP_MS", "10")) / 1000
PROCESSES = max(1, int(os.environ.get("VIEWER_PROCESSES", "1")))
PYSPY_DIR = os.environ.get("PYSPY_DIR")


class Viewer:
    def __init__(self):
        self.seq: int | None = None
        self.lags: list[float] = []
        self.stamps: list[float] = []
        self.lost = 0
        self.updates = 0
        self.error: str | None = None
        self.connected = asyncio.Event()

    def result(self) -> dict:
        return {
            "seq": self.seq,
            "lags": self.lags,
            "stamps": self.stamps,
            "lost": self.lost,
            "updates": self.updates,
            "error": self.error,
        }


async def watch(url: str, origin: str, cookie: str, viewer: Viewer, measure_from: asyncio.Event):
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
            while True:
                raw = await socket.recv()
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
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a refused or dropped socket is a figure too
        viewer.error = f"{type(exc).__name__}: {exc}"[:200]
        viewer.connected.set()


async def client(part, urls, origins, cookies, connected, measure, stop, results):
    """One client process's viewers: ``connected`` once they all answered, measure until ``stop``."""
    mine = [(i, cookie) for i, cookie in enumerate(cookies) if i % PROCESSES == part]
    viewers = [Viewer() for _ in mine]
    measure_from = asyncio.Event()
    tasks = []
    for viewer, (i, cookie) in zip(viewers, mine, strict=True):
        url, origin = urls[i % len(urls)], origins[i % len(origins)]
        tasks.append(asyncio.create_task(watch(url, origin, f"sessionid={cookie}", viewer, measure_from)))
        await asyncio.sleep(RAMP_SECONDS * PROCESSES)  # a ramp, as browsers arrive
    try:
        await asyncio.wait_for(asyncio.gather(*(v.connected.wait() for v in viewers)), timeout=120)
    except TimeoutError:
        pass  # counted as not connected
    connected.set()
    while not measure.is_set():
        await asyncio.sleep(0.01)
    measure_from.set()
    while not stop.is_set():
        await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    results.put([v.result() for v in viewers])


def client_process(*args):
    asyncio.run(client(*args))


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


def fanout_buckets() -> dict[float, float]:
    """The servers' ``dashboard_fanout_seconds`` buckets (cumulative counts by upper bound), merged."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return {}
    from prometheus_client import CollectorRegistry
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    buckets: dict[float, float] = {}
    for family in registry.collect():
        if family.name != "dashboard_fanout_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return buckets


def bucket_quantile(before: dict[float, float], after: dict[float, float], q: float) -> float | None:
    """The upper bound of the bucket holding quantile ``q`` of what was observed in between."""
    counts = sorted((bound, after[bound] - before.get(bound, 0.0)) for bound in after)
    if not counts or counts[-1][1] <= 0:
        return None
    total = counts[-1][1]
    for bound, count in counts:
        if count >= q * total:
            return bound
    return None


def main(urls, origins, sessions_file, n, seconds, server_pids, ticker_pid):
    cookies = [line.strip() for line in Path(sessions_file).read_text().splitlines() if line.strip()][:n]
    servers = [psutil.Process(pid) for pid in server_pids]
    ticker = psutil.Process(ticker_pid)
    rss_before = rss(servers)
    spawn = multiprocessing.get_context("spawn")
    measure, stop, results = spawn.Event(), spawn.Event(), spawn.Queue()
    connected = [spawn.Event() for _ in range(PROCESSES)]
    clients = [
        spawn.Process(
            target=client_process, args=(part, urls, origins, cookies, connected[part], measure, stop, results)
        )
        for part in range(PROCESSES)
    ]
    for process in clients:
        process.start()
    for event in connected:
        event.wait(timeout=600)
    time.sleep(3)  # settle
    rss_connected = rss(servers)
    client_procs = [psutil.Process(p.pid) for p in clients]
    cpu_start = {p: cpu_seconds(p) for p in (*servers, ticker, *client_procs)}
    fanout_before = fanout_buckets()
    profilers = []
    if PYSPY_DIR:
        Path(PYSPY_DIR).mkdir(parents=True, exist_ok=True)
        for p in servers:
            out = Path(PYSPY_DIR) / f"daphne-{p.pid}.txt"
            profilers.append(
                subprocess.Popen(
                    [
                        str(Path(sys.executable).parent / "py-spy"),
                        "record",
                        "-p",
                        str(p.pid),
                        "-d",
                        str(int(seconds)),
                        "-r",
                        "50",
                        "--nonblocking",
                        "-f",
                        "raw",
                        "-o",
                        str(out),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
    started = time.time()
    measure.set()
    time.sleep(seconds)
    elapsed = time.time() - started
    used = {p: cpu_seconds(p) - cpu_start[p] for p in cpu_start}
    fanout_after = fanout_buckets()
    stop.set()
    gathered = [results.get(timeout=120) for _ in clients]
    for process in clients:
        process.join(timeout=30)
    for profiler in profilers:
        profiler.wait(timeout=120)
    viewers = [v for part in gathered for v in part]
    cpu = {
        "server": round(100 * sum(used[p] for p in servers) / elapsed, 1),
        "ticker": round(100 * used[ticker] / elapsed, 1),
        "viewers": round(100 * sum(used[p] for p in client_procs) / elapsed, 1),
    }
    if len(servers) > 1:
        cpu["each_server"] = [round(100 * used[p] / elapsed, 1) for p in servers]

    lags = [lag for v in viewers for lag in v["lags"]]
    # Lag over the run, by 10-second window: a backlog shows as a lag that keeps growing.
    windows: dict[int, list[float]] = {}
    for v in viewers:
        for lag, at in zip(v["lags"], v["stamps"], strict=True):
            windows.setdefault(int((at - started) // 10), []).append(lag)
    lag_p95_by_10s = [round(1000 * percentile(windows[w], 0.95), 1) for w in sorted(windows)]
    errors = [v["error"] or "never connected" for v in viewers if v["error"] or v["seq"] is None]
    expected = int(elapsed)  # one update per second per viewer
    fanout = {
        f"server_fanout_ms_{name}_at_most": (
            round(1000 * bound, 1) if (bound := bucket_quantile(fanout_before, fanout_after, q)) is not None else None
        )
        for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
    }
    print(
        json.dumps(
            {
                "viewers": n,
                "servers": len(servers),
                "client_processes": PROCESSES,
                "connected": n - len(errors),
                "errors": len(errors),
                "first_error": errors[0] if errors else None,
                "seconds": round(elapsed, 1),
                "updates": sum(v["updates"] for v in viewers),
                "updates_per_viewer_min": min((v["updates"] for v in viewers), default=0),
                "updates_expected_per_viewer": expected,
                "lost_updates": sum(v["lost"] for v in viewers),
                "lag_ms_p50": round(1000 * percentile(lags, 0.50), 1) if lags else None,
                "lag_ms_p95": round(1000 * percentile(lags, 0.95), 1) if lags else None,
                "lag_ms_p99": round(1000 * percentile(lags, 0.99), 1) if lags else None,
                "lag_ms_max": round(1000 * max(lags), 1) if lags else None,
                "lag_ms_mean": round(1000 * statistics.fmean(lags), 1) if lags else None,
                "lag_ms_p95_by_10s": lag_p95_by_10s,
                **fanout,
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
    main(urls, origins, sessions_file, int(n), float(seconds), server_pids, int(ticker_pid))
