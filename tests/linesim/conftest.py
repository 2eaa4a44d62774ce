import asyncio
import threading

import pytest
from aiohttp import web
from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, MessagingApiBlob

from linesim.line.testing import running_line_double


@pytest.fixture
def line():
    with running_line_double() as handle:
        yield handle


@pytest.fixture
def configuration(line):
    return Configuration(host=line.base_url, access_token=line.access_token)


@pytest.fixture
def api(configuration):
    with ApiClient(configuration) as client:
        yield MessagingApi(client)


@pytest.fixture
def blob_api(configuration):
    with ApiClient(configuration) as client:
        yield MessagingApiBlob(client)


class WebhookReceiver:
    """A stand-in for the bot: checks each post's signature with the SDK's parser and keeps the parsed events."""

    def __init__(self, channel_secret: str) -> None:
        self.parser = WebhookParser(channel_secret)
        self.status = 200
        self.posts: list[dict] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        body = (await request.read()).decode("utf-8")
        signature = request.headers.get("X-Line-Signature", "")
        try:
            events = self.parser.parse(body, signature)
            valid = True
        except InvalidSignatureError:
            events, valid = [], False
        self.posts.append({"body": body, "signature": signature, "valid": valid, "events": events})
        return web.Response(status=self.status if valid else 400, text="OK")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/line/webhook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/line/webhook"
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def start(self) -> "WebhookReceiver":
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
def receiver(line):
    receiver = WebhookReceiver(line.channel_secret).start()
    line.control.configure(webhookUrl=receiver.url)
    yield receiver
    receiver.stop()
