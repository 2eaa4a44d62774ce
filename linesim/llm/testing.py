"""Run the LLM double inside a test process.

    from linesim.llm.testing import running_llm_double

    with running_llm_double(latency_ms=0) as llm:
        settings.AZURE_OPENAI_ENDPOINT = llm.base_url
        settings.AZURE_OPENAI_API_KEY = llm.api_key
        llm.control.add_fault("429", count=1, retry_after=0.05)
        llm.control.script('{"title": "Hi", "body": "There"}')  # the next answer, whatever was asked
        ...
        assert llm.control.requests()[-1]["body"]["messages"][-1]["content"] == "hi"

The double runs on its own event loop in a background thread, bound to a free
port on 127.0.0.1, so real processes (a Celery worker, a web server) can reach it too.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiohttp import web

from linesim.llm.server import build_app
from linesim.llm.state import Options


class ControlClient:
    """A small synchronous client of the double's ``/_control`` API."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - a local http URL we built
            f"{self.base_url}/_control/{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - a local URL we built
            return json.loads(response.read())

    def add_fault(self, kind: str, **rule) -> list[dict]:
        return self._call("POST", "faults", {"kind": kind, **rule})["faults"]

    def faults(self) -> list[dict]:
        return self._call("GET", "faults")["faults"]

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def configure(self, *, latency_ms: float | None = None, tokens_per_second: float | None = None) -> dict:
        body = {
            k: v for k, v in {"latency_ms": latency_ms, "tokens_per_second": tokens_per_second}.items() if v is not None
        }
        return self._call("POST", "config", body)

    def script(self, *texts: str, match: str = "") -> list[dict]:
        """Queues answers: each later request whose texts contain ``match`` gets the next one, whole."""
        return self._call("POST", "script", {"answers": [{"text": text, "match": match} for text in texts]})["answers"]

    def clear_script(self) -> None:
        self._call("DELETE", "script")

    def requests(self) -> list[dict]:
        return self._call("GET", "requests")["requests"]

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def reset(self) -> None:
        self._call("POST", "reset")


@dataclass(frozen=True)
class LLMDoubleHandle:
    base_url: str
    api_key: str
    control: ControlClient

    @property
    def azure_endpoint(self) -> str:
        return self.base_url

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/v1"

    def env(self, *, deployment: str = "gpt-4o-mini") -> dict[str, str]:
        """Environment variables that point a bot process (web server, Celery worker) at this double."""
        return {
            "LLM_PROVIDER": "azure",
            "AZURE_OPENAI_ENDPOINT": self.base_url,
            "AZURE_OPENAI_API_KEY": self.api_key,
            "AZURE_OPENAI_DEPLOYMENT": deployment,
        }


class _ServerThread(threading.Thread):
    def __init__(self, options: Options):
        super().__init__(name="llm-double", daemon=True)
        self.options = options
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.port = 0

    def run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.runner = web.AppRunner(build_app(self.options), handler_cancellation=True, shutdown_timeout=1.0)
            self.loop.run_until_complete(self._start())
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self.error = exc
            self.ready.set()
            return
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()

    async def _start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.join(timeout=10)


@contextmanager
def running_llm_double(**options) -> Iterator[LLMDoubleHandle]:
    """Start the double (``Options`` fields as keyword arguments) and stop it on exit."""
    server = _ServerThread(Options(**options))
    server.start()
    server.ready.wait(timeout=10)
    if server.error is not None:
        raise server.error
    base_url = f"http://127.0.0.1:{server.port}"
    try:
        yield LLMDoubleHandle(base_url=base_url, api_key=server.options.api_key, control=ControlClient(base_url))
    finally:
        server.stop()
