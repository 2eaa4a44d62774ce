"""Safe defaults: what runs without being told runs as production, and nothing runs on published secrets.

* a server or Celery started without ``DJANGO_SETTINGS_MODULE`` uses production settings (and stops
  on a missing variable); ``manage.py`` and ``scripts/run.sh`` use the embedded default;
* the LINE simulator's published credentials are refused unless LINE is on this machine;
* production never signs anything with a placeholder secret, even with system checks skipped;
* the compose stack publishes its servers on loopback only, and gunicorn trusts forwarded
  headers from the TLS proxy alone.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from core.checks import check_environment
from core.env import SIMULATOR_ACCESS_TOKEN, SIMULATOR_CHANNEL_SECRET, is_loopback_url
from core.startup import WSGI_BOOT_ERROR
from linesim.line.config import LineDoubleConfig
from tests.security.production_env import REPO, production_env

# Tests that start a Python process with Django are integration tests, as in test_deploy.py.
BARE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}


def run_python(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**env, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def without_settings_module(**overrides) -> dict[str, str]:
    env = production_env(database_url="postgres://postgres@127.0.0.1:5432/postgres", **overrides)
    env.pop("DJANGO_SETTINGS_MODULE")
    return env


PRINT_SETTINGS = "from django.conf import settings; print(settings.SETTINGS_MODULE)"


# --- which settings run by default ----------------------------------------------------------------
@pytest.mark.integration
def test_it_defaults_the_wsgi_application_to_production_and_stops_it_without_its_variables():
    result = run_python(["-c", "import linebot_project.wsgi"], BARE_ENV)

    assert result.returncode == WSGI_BOOT_ERROR
    assert "Traceback" not in result.stderr
    assert (
        "configuration error: DJANGO_SECRET_KEY: (core.E001) DJANGO_SECRET_KEY is required but not set"
        in result.stderr.splitlines()
    )


@pytest.mark.integration
def test_it_defaults_the_asgi_application_to_production_and_stops_it_without_its_variables():
    result = run_python(["-c", "import linebot_project.asgi"], BARE_ENV)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "configuration error: DATABASE_URL: (core.E001) DATABASE_URL is required but not set" in result.stderr


@pytest.mark.integration
@pytest.mark.parametrize("module", ["linebot_project.wsgi", "linebot_project.asgi", "linebot_project.celery"])
def test_it_runs_servers_and_celery_on_production_settings_when_none_are_named(module):
    result = run_python(["-c", f"import {module}; {PRINT_SETTINGS}"], without_settings_module())

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "linebot_project.settings.production"


@pytest.mark.integration
def test_it_keeps_the_embedded_default_in_manage_py():
    result = run_python(["manage.py", "shell", "-c", PRINT_SETTINGS], BARE_ENV)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "linebot_project.settings.local"


def test_it_names_the_embedded_default_in_run_sh_before_it_starts_any_server():
    script = (REPO / "scripts" / "run.sh").read_text().splitlines()
    exported = next(i for i, line in enumerate(script) if line.startswith("export DJANGO_SETTINGS_MODULE="))
    starts = [i for i, line in enumerate(script) if re.search(r"\b(daphne|gunicorn|celery)\b", line)]

    assert script[exported].endswith(':-linebot_project.settings.local}"')
    assert starts and min(starts) > exported


# --- the simulator's published credentials ------------------------------------------------------
def test_it_knows_the_simulators_credentials():
    assert (LineDoubleConfig.channel_secret, LineDoubleConfig.access_token) == (
        SIMULATOR_CHANNEL_SECRET,
        SIMULATOR_ACCESS_TOKEN,
    )


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8081", True),
        ("http://127.8.9.10", True),
        ("http://localhost:8081", True),
        ("http://[::1]:8081", True),
        ("https://api.line.me", False),
        ("http://0.0.0.0:8081", False),
        ("http://127.0.0.1.example.com", False),
        ("http://localhost.example.com", False),
        ("", False),
    ],
)
def test_it_tells_a_loopback_url(url, loopback):
    assert is_loopback_url(url) is loopback


def test_it_refuses_the_published_credentials_towards_the_real_line_platform(settings):
    settings.LINE_CHANNEL_SECRET = SIMULATOR_CHANNEL_SECRET
    settings.LINE_CHANNEL_ACCESS_TOKEN = SIMULATOR_ACCESS_TOKEN
    settings.LINE_API_BASE_URL = "http://127.0.0.1:8081"
    settings.LINE_DATA_API_BASE_URL = "https://api-data.line.me"

    errors = check_environment()

    assert [(e.id, e.obj) for e in errors] == [
        ("core.E001", "LINE_CHANNEL_SECRET"),
        ("core.E001", "LINE_CHANNEL_ACCESS_TOKEN"),
    ]
    assert "LINE_DATA_API_BASE_URL is https://api-data.line.me" in errors[0].msg


def test_it_accepts_the_published_credentials_towards_the_double_on_this_machine(settings):
    settings.LINE_CHANNEL_SECRET = SIMULATOR_CHANNEL_SECRET
    settings.LINE_CHANNEL_ACCESS_TOKEN = SIMULATOR_ACCESS_TOKEN
    settings.LINE_API_BASE_URL = settings.LINE_DATA_API_BASE_URL = "http://localhost:8081"

    assert check_environment() == []


def test_it_accepts_the_channels_own_credentials_anywhere(settings):
    settings.LINE_CHANNEL_SECRET = "0123456789abcdef0123456789abcdef"
    settings.LINE_CHANNEL_ACCESS_TOKEN = "a-real-looking-token"
    settings.LINE_API_BASE_URL = "https://api.line.me"
    settings.LINE_DATA_API_BASE_URL = "https://api-data.line.me"

    assert check_environment() == []


@pytest.mark.integration
def test_it_stops_start_up_with_one_line_each_when_local_settings_point_at_line():
    env = {
        **BARE_ENV,
        "LINE_API_BASE_URL": "https://api.line.me",
        "DJANGO_SETTINGS_MODULE": "linebot_project.settings.local",
    }

    result = run_python(["-c", "import linebot_project.asgi"], env)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "simulator" in line]
    assert [line.split(":")[1].strip() for line in lines] == ["LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN"]
    assert all(line.startswith("configuration error: ") for line in lines)


@pytest.mark.integration
def test_it_refuses_the_published_secret_in_manage_py_under_production_settings():
    env = production_env(
        database_url="postgres://postgres@127.0.0.1:5432/postgres", LINE_CHANNEL_SECRET=SIMULATOR_CHANNEL_SECRET
    )

    result = run_python(["manage.py", "check"], env)

    assert result.returncode == 1
    assert [line for line in result.stderr.splitlines() if "LINE_CHANNEL_SECRET" in line] == [
        "LINE_CHANNEL_SECRET: (core.E001) LINE_CHANNEL_SECRET is the LINE simulator's published value, accepted "
        "only while the LINE base URLs point at this machine (LINE_API_BASE_URL is https://api.line.me; "
        "LINE_DATA_API_BASE_URL is https://api-data.line.me): set the channel's own"
    ]


# --- no placeholder secrets ---------------------------------------------------------------------
UNCHECKED_USE = """
import json
import time
import warnings

warnings.simplefilter("ignore")
import django
from django.core.exceptions import ImproperlyConfigured

outcome = {}
try:
    django.setup()  # no system checks: nothing reports the missing variable
except ImproperlyConfigured as exc:
    outcome["setup"] = f"refused: {exc}"
    print(json.dumps(outcome))
    raise SystemExit(0)
outcome["setup"] = "ran"

import jwt
from rest_framework_simplejwt.tokens import AccessToken

now = int(time.time())
claims = {"token_type": "access", "exp": now + 300, "iat": now, "jti": "j", "user_id": "1",
          "aud": "linebot-api", "iss": "linebot-platform"}
try:
    AccessToken(jwt.encode(claims, "missing", algorithm="HS256"))
    outcome["token_signed_with_the_old_placeholder"] = "accepted"
except Exception as exc:
    outcome["token_signed_with_the_old_placeholder"] = "refused"
try:
    str(AccessToken())
    outcome["issuing_a_token"] = "ran"
except Exception:
    outcome["issuing_a_token"] = "refused"
print(json.dumps(outcome))
"""


@pytest.mark.integration
def test_it_never_runs_production_on_a_placeholder_secret_key_even_with_checks_skipped():
    env = production_env(database_url="postgres://postgres@127.0.0.1:5432/postgres", DJANGO_SECRET_KEY=None)

    result = run_python(["-c", UNCHECKED_USE], env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {"setup": "refused: The SECRET_KEY setting must not be empty."}


@pytest.mark.integration
def test_it_never_signs_jwts_in_production_with_a_placeholder_even_with_checks_skipped():
    env = production_env(database_url="postgres://postgres@127.0.0.1:5432/postgres", JWT_SIGNING_KEY=None)

    result = run_python(["-c", UNCHECKED_USE], env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "setup": "ran",
        "token_signed_with_the_old_placeholder": "refused",
        "issuing_a_token": "refused",
    }


@pytest.mark.integration
def test_it_names_a_missing_secret_key_in_one_line_from_manage_py():
    env = production_env(database_url="postgres://postgres@127.0.0.1:5432/postgres", DJANGO_SECRET_KEY=None)

    result = run_python(["manage.py", "shell", "-c", "print('ran')"], env)

    assert result.returncode == 1
    assert "ran" not in result.stdout and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == ["DJANGO_SECRET_KEY: (core.E001) DJANGO_SECRET_KEY is required but not set"]


# --- the compose stack ---------------------------------------------------------------------------
COMPOSE = yaml.safe_load((REPO / "docker" / "compose.yml").read_text())
_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::(?P<op>[?-])(?P<arg>[^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """What ``docker compose`` makes of ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``."""

    def one(match: re.Match) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if env.get(name):
            return env[name]
        if op == "?":
            raise LookupError(f"{name}: {arg}")
        return arg if op == "-" else ""

    return _INTERPOLATION.sub(one, value)


GUNICORN_SETTINGS = """
import json
import sys

from gunicorn.config import Config

# As gunicorn's Application.load_config applies its command line.
config = Config()
for name, value in vars(config.parser().parse_args(sys.argv[1:])).items():
    if value is not None and name in config.settings:
        config.set(name, value)
print(json.dumps({"forwarded_allow_ips": config.forwarded_allow_ips, "worker_class": config.worker_class_str}))
"""


def gunicorn_settings(args: list[str], **env: str) -> dict:
    """What gunicorn makes of its command line; it reads FORWARDED_ALLOW_IPS when it starts."""
    assert args[0] == "gunicorn"
    result = run_python(["-c", GUNICORN_SETTINGS, *args[1:]], {**BARE_ENV, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("service", sorted(COMPOSE["services"]))
def test_it_publishes_the_compose_stacks_ports_on_loopback_only(service):
    for port in COMPOSE["services"][service].get("ports", []):
        assert str(port).startswith("127.0.0.1:"), f"{service} publishes {port} beyond this host"


def test_it_publishes_the_web_and_websocket_servers_behind_the_proxy():
    assert COMPOSE["services"]["web"]["ports"] == ["127.0.0.1:8000:8000"]
    assert COMPOSE["services"]["websocket"]["ports"] == ["127.0.0.1:8001:8001"]


def test_it_makes_gunicorn_in_compose_trust_forwarded_headers_from_the_configured_proxy_only():
    command = COMPOSE["services"]["web"]["command"]

    with pytest.raises(LookupError, match="FORWARDED_ALLOW_IPS"):
        [interpolate(part, {}) for part in command]  # compose refuses to start without it
    args = [interpolate(part, {"FORWARDED_ALLOW_IPS": "172.30.0.1"}) for part in command]

    # Even if the variable also reached the container, the command line decides.
    assert gunicorn_settings(args, FORWARDED_ALLOW_IPS="*") == {
        "forwarded_allow_ips": ["172.30.0.1"],
        "worker_class": "gthread",
    }


def test_it_makes_gunicorn_in_the_image_trust_forwarded_headers_from_loopback_or_the_named_proxy():
    cmd = next(line for line in (REPO / "docker" / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    args = json.loads(cmd.removeprefix("CMD "))

    assert gunicorn_settings(args)["forwarded_allow_ips"] == ["127.0.0.1", "::1"]
    assert gunicorn_settings(args, FORWARDED_ALLOW_IPS="10.0.0.5")["forwarded_allow_ips"] == ["10.0.0.5"]
