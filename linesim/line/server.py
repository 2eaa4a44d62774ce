"""Running the double: in the foreground (``python -m linesim.line``), in several processes sharing a port
(``--workers N``, SO_REUSEPORT), or in a background thread for tests."""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import signal
import socket
import threading
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

from aiohttp import web

from linesim.line.app import DOUBLE, LineDouble, create_app, spec_book
from linesim.line.config import LineDoubleConfig

log = logging.getLogger("linesim.line")


def _listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


async def _serve(config: LineDoubleConfig, sock: socket.socket, stop: asyncio.Event) -> None:
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def _run_worker(config: LineDoubleConfig, reuse_port: bool) -> None:
    import uvloop

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        sock = _listening_socket(config.host, config.port, reuse_port=reuse_port)
        await _serve(config, sock, stop)

    uvloop.run(main())


def serve_forever(config: LineDoubleConfig) -> None:
    spec_book(config.spec_dir)  # compiled once, before forking, so workers start at once
    # The compiled validators live forever, and recorded requests pile up by the hundred thousand under load:
    # keep them out of the collector's way so full collections don't stall every connection.
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    print(
        f"LINE double on http://{config.host}:{config.port} "
        f"(simulator: http://{config.host}:{config.port}/simulator, webhook → {config.webhook_url or 'not set'}, "
        f"workers: {config.workers})",
        flush=True,
    )
    if config.workers == 1:
        _run_worker(config, reuse_port=False)
        return
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_run_worker, args=(config, True), daemon=True) for _ in range(config.workers)]
    for worker in workers:
        worker.start()

    def forward(signum: int, _frame: Any) -> None:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for worker in workers:
        worker.join()


class RunningDouble:
    """A double serving from a background thread; ``base_url`` is where the SDK and the control API point."""

    def __init__(self, config: LineDoubleConfig) -> None:
        self.config = replace(config)
        self._sock = _listening_socket(config.host, config.port, reuse_port=False)
        self.port = self._sock.getsockname()[1]
        self.config.port = self.port
        self.base_url = f"http://{config.host}:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.app: web.Application | None = None
        self._thread = threading.Thread(target=self._run, name=f"line-double-{self.port}", daemon=True)

    @property
    def double(self) -> LineDouble:
        assert self.app is not None
        return self.app[DOUBLE]

    def start(self) -> RunningDouble:
        spec_book(self.config.spec_dir)
        self._thread.start()
        self._ready.wait(timeout=60)
        if self._error is not None:
            raise RuntimeError("the LINE double did not start") from self._error
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - handed to the starting thread, which raises it
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self.app = create_app(self.config)
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.SockSite(runner, self._sock).start()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    def call(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        """Runs a coroutine on the double's loop, e.g. ``handle.call(handle.double.webhooks.send({...}))``."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def stop(self) -> None:
        if self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


def start_in_thread(config: LineDoubleConfig | None = None, **options: Any) -> RunningDouble:
    """Starts a double on a free port (unless ``port`` is given) and returns it running; call ``.stop()``."""
    base = config or LineDoubleConfig(port=0)
    return RunningDouble(replace(base, **options)).start()
