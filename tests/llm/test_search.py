"""core.search: the SearXNG provider over real HTTP against a small SearXNG stand-in, the cache and the tool."""

import asyncio
import threading
import time

import pytest
from aiohttp import web

from core.errors import ConfigurationError, SearchError
from core.llm.search import (
    CachedSearch,
    FakeSearchProvider,
    SearchHit,
    SearxngProvider,
    get_search_provider,
    web_search_tool,
)

SEARXNG_RESULTS = {
    "query": "django",
    "results": [
        {"url": "https://www.djangoproject.com/", "title": "Django", "content": "The web framework.", "engine": "x"},
        {"url": "https://docs.djangoproject.com/", "title": "Docs", "content": "x" * 1000},
        {"title": "no url, skipped"},
        {"url": "https://pypi.org/project/Django/", "title": "", "content": None},
    ],
}


class SearxngStandIn:
    """Answers /search like SearXNG; ``mode`` picks a healthy answer or a failure."""

    def __init__(self):
        self.mode = "ok"
        self.queries: list[dict] = []

    async def search(self, request):
        self.queries.append(dict(request.query))
        if self.mode == "ok":
            return web.json_response(SEARXNG_RESULTS)
        if self.mode == "html":
            return web.Response(text="<html>no json here</html>", content_type="text/html")
        if self.mode == "slow":
            await asyncio.sleep(2)
            return web.json_response(SEARXNG_RESULTS)
        return web.Response(status=int(self.mode), text="nope")

    def __enter__(self):
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(5)
        return self

    def _run(self):
        self.loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_get("/search", self.search)
        self.runner = web.AppRunner(app, shutdown_timeout=0.5, handler_cancellation=True)
        self.loop.run_until_complete(self.runner.setup())
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        self.loop.run_until_complete(site.start())
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def searxng():
    with SearxngStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def search_settings(settings):
    settings.WEB_SEARCH_PROVIDER = ""
    settings.SEARXNG_URL = None
    settings.WEB_SEARCH_TIMEOUT = 0.5
    settings.WEB_SEARCH_RESULTS = 5
    settings.WEB_SEARCH_CACHE_TTL = 60.0
    settings.WEB_SEARCH_CACHE_SIZE = 16
    return settings


def test_it_asks_searxngs_json_api_and_maps_its_results(searxng):
    hits = SearxngProvider(searxng.url, timeout=1).search("django", limit=5)

    assert searxng.queries == [{"q": "django", "format": "json"}]
    assert hits[0] == SearchHit("Django", "https://www.djangoproject.com/", "The web framework.")
    assert len(hits[1].snippet) == 300
    assert hits[2] == SearchHit("https://pypi.org/project/Django/", "https://pypi.org/project/Django/", "")
    assert len(hits) == 3


def test_it_returns_at_most_limit_searxng_hits(searxng):
    assert len(SearxngProvider(searxng.url).search("django", limit=1)) == 1


@pytest.mark.parametrize(("mode", "retryable"), [("500", True), ("429", True), ("403", False)])
def test_it_maps_a_searxng_error_status_to_search_error(searxng, mode, retryable):
    searxng.mode = mode

    with pytest.raises(SearchError) as caught:
        SearxngProvider(searxng.url).search("django", limit=5)

    assert (caught.value.status, caught.value.retryable) == (int(mode), retryable)


def test_it_rejects_a_searxng_answer_that_is_not_json(searxng):
    searxng.mode = "html"

    with pytest.raises(SearchError, match="other than SearXNG JSON"):
        SearxngProvider(searxng.url).search("django", limit=5)


def test_it_times_out_a_slow_searxng(searxng):
    searxng.mode = "slow"
    started = time.monotonic()

    with pytest.raises(SearchError, match="timed out") as caught:
        SearxngProvider(searxng.url, timeout=0.2).search("django", limit=5)

    assert caught.value.retryable is True
    assert time.monotonic() - started < 1.5


def test_it_reports_an_unreachable_searxng():
    with SearxngStandIn() as stand_in:
        url = stand_in.url

    with pytest.raises(SearchError, match="could not be reached"):
        SearxngProvider(url, timeout=0.5).search("django", limit=5)


def test_it_answers_a_repeated_query_from_the_cache():
    fake = FakeSearchProvider()
    cached = CachedSearch(fake, ttl=60, maxsize=8)

    first = cached.search("Line  API", limit=3)
    second = cached.search("line api", limit=3)

    assert first == second
    assert fake.queries == ["Line API"]


def test_it_forgets_cached_results_after_their_ttl():
    fake = FakeSearchProvider()
    cached = CachedSearch(fake, ttl=0.1, maxsize=8)
    cached.search("line", limit=3)

    time.sleep(0.15)
    cached.search("line", limit=3)

    assert fake.queries == ["line", "line"]


def test_it_caches_at_most_the_cache_size():
    fake = FakeSearchProvider()
    cached = CachedSearch(fake, ttl=60, maxsize=2)
    for query in ("a", "b", "c"):
        cached.search(query, limit=3)

    cached.search("a", limit=3)

    assert len(cached.cache) == 2
    assert fake.queries == ["a", "b", "c", "a"]


def test_it_does_not_cache_failures():
    fake = FakeSearchProvider()
    cached = CachedSearch(fake, ttl=60, maxsize=8)
    for _ in range(2):
        with pytest.raises(SearchError):
            cached.search("fail now", limit=3)

    assert fake.queries == ["fail now", "fail now"]


def test_it_refuses_an_empty_search_query():
    with pytest.raises(SearchError, match="empty"):
        CachedSearch(FakeSearchProvider(), ttl=60, maxsize=8).search("   ", limit=3)


def test_it_keeps_search_off_unless_configured(search_settings):
    assert get_search_provider() is None
    assert web_search_tool() is None


def test_it_reports_searxng_without_its_url_as_a_configuration_error(search_settings):
    search_settings.WEB_SEARCH_PROVIDER = "searxng"

    with pytest.raises(ConfigurationError, match="SEARXNG_URL"):
        get_search_provider()


def test_it_searches_the_configured_searxng_and_formats_the_hits_for_the_model(search_settings, searxng):
    search_settings.WEB_SEARCH_PROVIDER = "searxng"
    search_settings.SEARXNG_URL = searxng.url
    search_settings.WEB_SEARCH_RESULTS = 1

    output = web_search_tool().handler(query="django")

    assert output == "1. Django <https://www.djangoproject.com/>\n   The web framework."


def test_it_gives_the_model_a_short_error_text_when_searxng_fails(search_settings, searxng):
    search_settings.WEB_SEARCH_PROVIDER = "searxng"
    search_settings.SEARXNG_URL = searxng.url
    searxng.mode = "500"

    assert web_search_tool().handler(query="django") == "error: web search failed (The web search answered HTTP 500.)"


def test_it_describes_the_tools_query_argument(search_settings):
    search_settings.WEB_SEARCH_PROVIDER = "fake"

    spec = web_search_tool().as_openai_tool()

    assert spec["function"]["name"] == "web_search"
    assert spec["function"]["parameters"]["required"] == ["query"]
