"""Synthetic series for alerting tests: samples written straight into the table the rules read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.utils import timezone

from monitoring.models import MetricSample

NOW = timezone.make_aware(dt.datetime(2026, 11, 20, 12, 0))


def write_series(series: str, values: Callable[[int], float], *, minutes: int, end: dt.datetime = NOW) -> None:
    """One sample a minute for ``minutes`` minutes up to ``end``; ``values(i)`` with i minutes before the end."""
    MetricSample.objects.bulk_create(
        [MetricSample(series=series, at=end - dt.timedelta(minutes=i), value=values(i)) for i in range(minutes, -1, -1)]
    )


def write_counters(
    good: str,
    total: str,
    bad_per_minute: Callable[[int], float],
    *,
    minutes: int,
    events_per_minute: float = 100.0,
    end: dt.datetime = NOW,
) -> None:
    """Running totals of good and all events, ``bad_per_minute(i)`` of each minute's events bad."""
    rows, seen, ok = [], 0.0, 0.0
    for i in range(minutes, -1, -1):
        if i < minutes:
            seen += events_per_minute
            ok += events_per_minute - bad_per_minute(i)
        at = end - dt.timedelta(minutes=i)
        rows += [MetricSample(series=total, at=at, value=seen), MetricSample(series=good, at=at, value=ok)]
    MetricSample.objects.bulk_create(rows)


class WebhookReceiver:
    """A tiny HTTP server in a thread of the test that keeps the JSON posted to it.

    ``statuses`` are answered in turn (then 200), to make the first attempts fail.
    """

    def __init__(self, statuses: list[int] | None = None):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.received: list[dict] = []
        self.statuses = list(statuses or [])
        self.arrived = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                if status == 200:
                    receiver.received.append(json.loads(body))
                    receiver.arrived.set()
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait(self, count: int, timeout: float = 10.0) -> list[dict]:
        import time

        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received
