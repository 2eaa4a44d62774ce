"""One object per process, built on first use: the clients of outside systems and the Redis manager.

    _clients = ProcessWide(build_client, close=LineClient.close, settings_prefixes=("LINE_",))
    _clients.get()     # built once, under a lock, on first use
    _clients.reset()   # forgotten (and closed); the next get() builds it again

Building lazily keeps start-up free of network setup and heavy SDK imports, and a
test that changes one of the named Django settings gets a fresh object.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from django.core.signals import setting_changed

T = TypeVar("T")


class ProcessWide(Generic[T]):
    def __init__(
        self,
        build: Callable[[], T],
        *,
        close: Callable[[T], None] | None = None,
        settings_prefixes: tuple[str, ...] = (),
    ):
        self._build = build
        self._close = close
        self._value: T | None = None
        self._lock = threading.Lock()
        if settings_prefixes:
            self._prefixes = settings_prefixes
            setting_changed.connect(self._on_setting_changed, weak=False)

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
                value = self._value
        return value

    def reset(self) -> None:
        with self._lock:
            old, self._value = self._value, None
        if old is not None and self._close is not None:
            self._close(old)

    def _on_setting_changed(self, *, setting: str, **kwargs) -> None:
        if setting.startswith(self._prefixes):
            self.reset()


class LazyModule:
    """A module imported on first attribute access: ``openai = LazyModule("openai")``.

    For SDKs that take a second to import and that most processes (every ``manage.py`` command,
    the web tier's LINE webhook) never call.
    """

    def __init__(self, name: str):
        self._name = name
        self._module = None

    def __getattr__(self, attribute: str):
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)
