"""A live bot for the live chat: daphne (HTTP, websockets and, with tasks run in-process, the answers) in its
own process, the LINE and LLM doubles in this one, and Chromium looking at the simulator and the console."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from linesim.line.testing import running_line_double
from linesim.llm.testing import running_llm_double
from tests.browser import launch_chromium
from tests.monitoring.browser.conftest import Stack, _wait_for_port
from tests.ports import free_port

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ROOT = Path(__file__).resolve().parents[3]
SECRET = "takeover-e2e-channel-secret"
TOKEN = "takeover-e2e-access-token"


@pytest.fixture(scope="module")
def doubles():
    with (
        running_line_double(channel_secret=SECRET, access_token=TOKEN) as line,
        running_llm_double(latency_ms=0) as llm,
    ):
        yield line, llm


@pytest.fixture
def live_bot(transactional_db, doubles, tmp_path):
    line, llm = doubles
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "linebot_project.settings.test",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{connection.settings_dict['NAME']}",
        "TEST_SHARED_CHANNEL_LAYER": "1",
        # Each webhook event is answered in the request that brought it, inside daphne.
        "CELERY_EAGER": "1",
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "LINE_API_BASE_URL": line.base_url,
        "LINE_DATA_API_BASE_URL": line.base_url,
        "LINE_API_RETRY_WAIT": "0.2",
        "CONVERSATION_REPLY_BUDGET_SECONDS": "50",
        **llm.env(),
    }
    server_log = tmp_path / "daphne.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "linebot_project.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=server_log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    stack = Stack(f"http://127.0.0.1:{port}", [server])
    stack.line, stack.llm, stack.log = line, llm, server_log
    try:
        _wait_for_port(port, server, server_log)
        line.control.reset()
        llm.control.reset()
        line.control.configure(webhookUrl=f"{stack.base_url}/line/webhook")
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
