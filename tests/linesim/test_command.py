"""`python -m linesim.line`: flags, environment, and the real process serving the SDK."""

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, PushMessageRequest, TextMessage

from linesim.line.config import parse_args
from linesim.line.testing import ControlClient
from tests.ports import free_port

REPO = Path(__file__).resolve().parents[2]
USER = "U" + "c" * 32


def test_it_takes_its_options_from_flags():
    config = parse_args(
        ["--port", "9001", "--webhook-url", "http://127.0.0.1:8000/line/webhook", "--no-spec-checks", "--seed", "3"]
    )

    assert (config.port, config.webhook_url, config.spec_checks, config.seed) == (
        9001,
        "http://127.0.0.1:8000/line/webhook",
        False,
        3,
    )


def test_it_falls_back_to_environment_variables(monkeypatch):
    monkeypatch.setenv("LINESIM_PORT", "9002")
    monkeypatch.setenv("LINESIM_CHANNEL_SECRET", "from-env")
    monkeypatch.setenv("LINESIM_RATE_LIMITS", "false")

    config = parse_args([])

    assert (config.port, config.channel_secret, config.rate_limits) == (9002, "from-env", False)


def test_it_reports_a_malformed_environment_value_as_a_usage_error(monkeypatch, capsys):
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


class DoubleProcess:
    """``python -m linesim.line`` as a real process on a free port; its output is kept for assertions."""

    def __init__(self, *flags: str):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.output = ""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "linesim.line", "--port", str(self.port), *flags],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def healthy(self) -> bool:
        try:
            urllib.request.urlopen(self.base_url + "/_control/health", timeout=1)
            return True
        except OSError:
            return False

    def __enter__(self):
        deadline = time.monotonic() + 20
        while not self.healthy():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                pytest.fail(f"the LINE double did not start:\n{self.output}")
            time.sleep(0.1)
        return self

    def __exit__(self, *exc_info):
        self.process.terminate()
        self.output = self.process.communicate(timeout=10)[0].decode()


@pytest.mark.integration
def test_it_starts_a_double_the_sdk_can_use():
    with DoubleProcess("--access-token", "token-1") as double:
        with ApiClient(Configuration(host=double.base_url, access_token="token-1")) as client:
            MessagingApi(client).push_message(
                PushMessageRequest(to=USER, messages=[TextMessage(text="from a process")])
            )

        assert ControlClient(double.base_url).messages(user_id=USER)[0]["message"]["text"] == "from a process"
    assert f"LINE double on {double.base_url}" in double.output


@pytest.mark.integration
def test_it_shares_the_port_between_workers():
    with DoubleProcess("--workers", "2") as double:
        answers = [double.healthy() for _ in range(10)]

    assert answers == [True] * 10
    assert double.process.returncode is not None
