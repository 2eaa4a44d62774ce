"""A live stack for the dashboards: daphne and the ticker in their own processes, sharing Redis's
channel layer and the metrics directory with this test run, and Chromium looking at it."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.browser import launch_chromium
from tests.ports import free_port

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[3]
SECRET = "dashboard-e2e-channel-secret"


def _wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server did not listen: {log.read_text()[-3000:]}")


class Stack:
    def __init__(self, base_url: str, processes: list[subprocess.Popen]):
        self.base_url, self.processes = base_url, processes

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def live_stack(transactional_db, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "linebot_project.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "TEST_SHARED_CHANNEL_LAYER": "1",
        # Webhook events are queued, not processed: this stack only watches them arrive.
        "CELERY_EAGER": "0",
        "CELERY_BROKER_URL": "memory://",
        "LINE_CHANNEL_SECRET": SECRET,
        "DASHBOARD_RECHECK_SECONDS": "5",
    }
    server_log, ticker_log = tmp_path / "daphne.log", tmp_path / "ticker.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "linebot_project.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=server_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    ticker = subprocess.Popen(
        [sys.executable, "manage.py", "run_dashboard_ticker"],
        cwd=ROOT,
        env=env,
        stdout=ticker_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    stack = Stack(f"http://127.0.0.1:{port}", [server, ticker])
    try:
        _wait_for_port(port, server, server_log)
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()
