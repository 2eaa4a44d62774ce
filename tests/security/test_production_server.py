"""The production HTTP server (gunicorn WSGI, as in docker/compose.yml) serves the app and refuses a bad environment."""

import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from core.startup import WSGI_BOOT_ERROR
from tests.ports import free_port
from tests.security.production_env import REPO, production_env

pytestmark = pytest.mark.integration

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def _gunicorn(port: int, **env_overrides) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "linebot_project.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "1", "--worker-class", "gthread", "--threads", "2"]
    env = production_env(
        database_url=DATABASE_URL, DJANGO_ALLOWED_HOSTS="127.0.0.1", DJANGO_SECURE_SSL_REDIRECT="0", **env_overrides
    )
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _get(url: str, **kwargs):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, **kwargs), timeout=5) as response:  # nosec B310
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def _wait_until_serving(server: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.returncode}:\n{server.stdout.read()}")
        try:
            _get(url)
            return
        except OSError:
            time.sleep(0.2)
    server.kill()
    pytest.fail(f"gunicorn did not serve within 30 s:\n{server.communicate()[0]}")


@pytest.fixture
def server_url():
    port = free_port()
    server = _gunicorn(port)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(server, f"{url}/healthz")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_it_serves_the_application_with_production_settings(server_url):
    # Behind the TLS-terminating proxy, as in production.
    status, headers, body = _get(f"{server_url}/healthz", headers={"X-Forwarded-Proto": "https"})

    assert status == 200
    assert body == b'{"status": "ok"}'
    assert headers["X-Request-ID"]
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_it_passes_the_raw_body_to_the_webhook_signature_check(server_url):
    status, _, body = _get(
        f"{server_url}/line/webhook",
        data=b'{"destination":"U1","events":[]}',
        headers={"Content-Type": "application/json", "X-Line-Signature": "Zm9yZ2Vk"},
        method="POST",
    )

    assert status == 401
    assert b"bad_signature" in body


def test_it_stops_with_one_line_per_problem_when_a_variable_is_missing():
    server = _gunicorn(free_port(), DATABASE_URL=None)
    try:
        output, _ = server.communicate(timeout=60)
    finally:
        server.kill()

    assert server.returncode == WSGI_BOOT_ERROR  # gunicorn's master halted, no respawn loop
    assert "configuration error: DATABASE_URL: (core.E001) DATABASE_URL is required but not set" in output
    assert "Traceback" not in output
