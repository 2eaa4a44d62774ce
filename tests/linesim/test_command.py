"""`python -m linesim.line`: flags, environment, and the real process serving the SDK."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, PushMessageRequest, TextMessage

from linesim.line.config import parse_args
from linesim.line.testing import ControlClient

REPO = Path(__file__).resolve().parents[2]
USER = "U" + "c" * 32


def test_flags_set_the_options():
    config = parse_args(
        ["--port", "9001", "--webhook-url", "http://127.0.0.1:8000/line/webhook", "--no-spec-checks", "--seed", "3"]
    )

    assert (config.port, config.webhook_url, config.spec_checks, config.seed) == (
        9001,
        "http://127.0.0.1:8000/line/webhook",
        False,
        3,
    )


def test_environment_variables_are_the_fallback(monkeypatch):
    monkeypatch.setenv("LINESIM_PORT", "9002")
    monkeypatch.setenv("LINESIM_CHANNEL_SECRET", "from-env")
    monkeypatch.setenv("LINESIM_RATE_LIMITS", "false")

    config = parse_args([])

    assert (config.port, config.channel_secret, config.rate_limits) == (9002, "from-env", False)


def test_a_malformed_environment_value_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setenv("LINESIM_PORT", "eighty")

    with pytest.raises(SystemExit):
        parse_args([])

    assert "invalid int value: 'eighty'" in capsys.readouterr().err


def test_it_refuses_a_folder_without_the_specs(tmp_path, capsys):
    with pytest.raises(SystemExit):
        parse_args(["--spec-dir", str(tmp_path)])

    assert "no LINE OpenAPI specs" in capsys.readouterr().err


def test_it_refuses_zero_workers():
    with pytest.raises(SystemExit):
        parse_args(["--workers", "0"])


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.integration
def test_the_command_starts_a_double_the_sdk_can_use():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "linesim.line", "--port", str(port), "--access-token", "token-1"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base_url + "/_control/health", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        with ApiClient(Configuration(host=base_url, access_token="token-1")) as client:
            MessagingApi(client).push_message(
                PushMessageRequest(to=USER, messages=[TextMessage(text="from a process")])
            )

        assert ControlClient(base_url).messages(user_id=USER)[0]["message"]["text"] == "from a process"
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
    assert f"LINE double on http://127.0.0.1:{port}" in output


@pytest.mark.integration
def test_workers_share_the_port():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "linesim.line", "--port", str(port), "--workers", "2"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        answered = 0
        for _ in range(150):
            try:
                urllib.request.urlopen(base_url + "/_control/health", timeout=1)
                answered += 1
                if answered == 10:
                    break
            except OSError:
                time.sleep(0.1)
        assert answered == 10
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode is not None
