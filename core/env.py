"""Typed access to the environment that never raises at import time.

Settings modules read every variable through :class:`EnvReader`.  A missing or
malformed value is recorded instead of raised, and the ``core`` system check
turns each record into one readable line naming the variable, so a bad
deployment stops at start-up without a stack trace.
"""

from __future__ import annotations

import ipaddress
import os
import warnings
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import environ

_MISSING = object()


@dataclass
class EnvProblem:
    name: str
    message: str


@dataclass
class EnvReader:
    env: environ.Env = field(default_factory=environ.Env)
    problems: list[EnvProblem] = field(default_factory=list)

    def _read(self, kind: str, name: str, default: Any, required: bool) -> Any:
        raw = os.environ.get(name)
        if raw is None or raw == "":
            if required:
                self.problems.append(EnvProblem(name, f"{name} is required but not set"))
            return None if default is _MISSING else default
        try:
            return getattr(self.env, kind)(name)
        except Exception:  # noqa: BLE001 - any parse failure is a config error
            self.problems.append(EnvProblem(name, f"{name} is malformed: expected {kind}"))
            return None if default is _MISSING else default

    def str(self, name: str, default: Any = _MISSING, *, required: bool = False) -> Any:
        return self._read("str", name, default, required)

    def int(self, name: str, default: Any = _MISSING, *, required: bool = False) -> Any:
        return self._read("int", name, default, required)

    def float(self, name: str, default: Any = _MISSING, *, required: bool = False) -> Any:
        return self._read("float", name, default, required)

    def list(self, name: str, default: Any = _MISSING, *, required: bool = False) -> Any:
        return self._read("list", name, default, required)

    def bool(self, name: str, default: Any = _MISSING, *, required: bool = False) -> Any:
        raw = os.environ.get(name)
        if raw not in (None, "") and raw.strip().lower() not in _BOOL_WORDS:
            self.problems.append(EnvProblem(name, f"{name} is malformed: expected true or false"))
            return None if default is _MISSING else default
        return self._read("bool", name, default, required)

    def db(self, name: str, default: str | None = None, *, required: bool = False) -> Any:
        url = self._read("str", name, default, required)
        if url is None:
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = environ.Env.db_url_config(url)
        except Exception:  # noqa: BLE001
            parsed = {}
        if not parsed.get("ENGINE"):
            self.problems.append(EnvProblem(name, f"{name} is malformed: not a database URL"))
            return None
        return parsed

    def url(
        self,
        name: str,
        default: Any = _MISSING,
        *,
        schemes: tuple[str, ...],
        required: bool = False,
        require_host: bool = False,
    ) -> Any:
        value = self._read("str", name, default, required)
        if not value:
            return value
        scheme = value.split("://", 1)[0]
        if scheme not in schemes:
            self.problems.append(EnvProblem(name, f"{name} is malformed: expected a {'/'.join(schemes)} URL"))
            return None if default is _MISSING else default
        if require_host and not _host_of(value):
            self.problems.append(EnvProblem(name, f"{name} is malformed: expected a {scheme}:// URL with a host"))
            return None if default is _MISSING else default
        return value


def _host_of(url: str) -> str | None:
    try:
        parsed = urlsplit(url)
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    return parsed.hostname


_BOOL_WORDS = {"1", "0", "true", "false", "yes", "no", "on", "off", "y", "n", "t", "f"}


# The LINE double's credentials (linesim, scripts/run.sh): published, so anyone can sign with them.
SIMULATOR_CHANNEL_SECRET = "simulator-channel-secret"  # noqa: S105 - published on purpose
SIMULATOR_ACCESS_TOKEN = "simulator-access-token"  # noqa: S105 - published on purpose


def is_loopback_url(url: str | None) -> bool:
    """Whether ``url`` points at this machine (localhost, 127.0.0.0/8 or ::1)."""
    try:
        host = urlsplit(url or "").hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def simulator_credentials_problems(
    *, channel_secret: str | None, access_token: str | None, api_base_url: str | None, data_api_base_url: str | None
) -> list[EnvProblem]:
    """The simulator's published credentials are refused unless every LINE base URL is on this machine.

    With them, anyone could sign webhooks for the bot, or read what the real LINE Platform
    answered to the simulator's token.
    """
    remote = [
        f"{name} is {url}"
        for name, url in (("LINE_API_BASE_URL", api_base_url), ("LINE_DATA_API_BASE_URL", data_api_base_url))
        if not is_loopback_url(url)
    ]
    if not remote:
        return []
    published = (
        ("LINE_CHANNEL_SECRET", channel_secret == SIMULATOR_CHANNEL_SECRET),
        ("LINE_CHANNEL_ACCESS_TOKEN", access_token == SIMULATOR_ACCESS_TOKEN),
    )
    return [
        EnvProblem(
            name,
            f"{name} is the LINE simulator's published value, accepted only while the LINE base URLs "
            f"point at this machine ({'; '.join(remote)}): set the channel's own",
        )
        for name, is_published in published
        if is_published
    ]
