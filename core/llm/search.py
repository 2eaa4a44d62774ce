"""Web search for the language model, behind a provider interface and a bounded TTL cache.

Off unless ``WEB_SEARCH_PROVIDER`` is set:

* ``searxng``: a self-hosted SearXNG at ``SEARXNG_URL`` (its JSON API must be enabled:
  ``search.formats: [html, json]`` in SearXNG's settings.yml);
* ``fake``: :class:`FakeSearchProvider`, deterministic and offline, for tests and local runs.

The model reaches search through :func:`web_search_tool`, a :class:`core.llm.client.ToolSpec`
named ``web_search``.  A failed search gives the model a short error text, so the
chat goes on without it.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass

import httpx2
from cachetools import TTLCache
from django.conf import settings
from prometheus_client import Counter

from core.errors import ConfigurationError, SearchError
from core.lazy import ProcessWide
from core.llm.client import ToolSpec
from core.logging import get_logger

log = get_logger(__name__)

SEARCHES = Counter("web_search_requests_total", "Web searches by outcome", ["outcome"])

MAX_QUERY_CHARS = 400
MAX_SNIPPET_CHARS = 300


@dataclass(frozen=True)
class SearchHit:
    title: str
    url: str
    snippet: str


class SearchProvider(ABC):
    name: str

    @abstractmethod
    def search(self, query: str, *, limit: int) -> list[SearchHit]:
        """Up to ``limit`` hits for ``query``; raises :class:`core.errors.SearchError` on failure."""


class SearxngProvider(SearchProvider):
    name = "searxng"

    def __init__(self, base_url: str, *, timeout: float = 5.0, client: httpx2.Client | None = None):
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx2.Client(timeout=timeout, headers={"Accept": "application/json"})

    def search(self, query: str, *, limit: int) -> list[SearchHit]:
        try:
            response = self.client.get(f"{self.base_url}/search", params={"q": query, "format": "json"})
        except httpx2.TimeoutException as exc:
            raise SearchError("The web search timed out.", retryable=True) from exc
        except httpx2.HTTPError as exc:
            raise SearchError("The web search could not be reached.", retryable=True) from exc
        if response.status_code != 200:
            # SearXNG answers 403 when its JSON format is not enabled, 429 when its limiter trips.
            raise SearchError(
                f"The web search answered HTTP {response.status_code}.",
                status=response.status_code,
                retryable=response.status_code == 429 or response.status_code >= 500,
            )
        try:
            results = response.json()["results"]
            if not isinstance(results, list):
                raise TypeError("results is not a list")
        except (ValueError, KeyError, TypeError) as exc:
            raise SearchError("The web search answered something other than SearXNG JSON.") from exc
        hits = []
        for item in results:
            if not isinstance(item, dict) or not isinstance(item.get("url"), str):
                continue
            hits.append(
                SearchHit(
                    title=str(item.get("title") or item["url"]),
                    url=item["url"],
                    snippet=str(item.get("content") or "")[:MAX_SNIPPET_CHARS],
                )
            )
            if len(hits) >= limit:
                break
        return hits


class FakeSearchProvider(SearchProvider):
    """Deterministic hits derived from the query; a query starting with ``fail`` raises SearchError."""

    name = "fake"

    def __init__(self, hits_per_query: int = 3):
        self.hits_per_query = hits_per_query
        self.queries: list[str] = []

    def search(self, query: str, *, limit: int) -> list[SearchHit]:
        self.queries.append(query)
        if query.lower().startswith("fail"):
            raise SearchError("The fake web search was told to fail.", retryable=True)
        slug = "-".join(query.lower().split()) or "empty"
        return [
            SearchHit(
                title=f"{query} - result {i}",
                url=f"https://search.example/{slug}/{i}",
                snippet=f"Result {i} about {query}.",
            )
            for i in range(1, min(limit, self.hits_per_query) + 1)
        ]


class CachedSearch(SearchProvider):
    """A provider's hits, kept for ``ttl`` seconds, at most ``maxsize`` queries; failures are not kept."""

    def __init__(self, provider: SearchProvider, *, ttl: float, maxsize: int):
        self.provider = provider
        self.name = provider.name
        self.cache: TTLCache = TTLCache(maxsize=maxsize, ttl=ttl)
        self.lock = threading.Lock()

    def search(self, query: str, *, limit: int) -> list[SearchHit]:
        query = " ".join(query.split())[:MAX_QUERY_CHARS]
        if not query:
            raise SearchError("The search query is empty.")
        key = (query.casefold(), limit)
        with self.lock:
            hits = self.cache.get(key)
        if hits is not None:
            SEARCHES.labels(outcome="cached").inc()
            return list(hits)
        try:
            hits = self.provider.search(query, limit=limit)
        except SearchError:
            SEARCHES.labels(outcome="failed").inc()
            raise
        SEARCHES.labels(outcome="fetched").inc()
        with self.lock:
            self.cache[key] = tuple(hits)
        return hits


# --- the process-wide provider and the LLM tool ---------------------------------------------------
def build_search_provider() -> SearchProvider | None:
    kind = settings.WEB_SEARCH_PROVIDER
    if not kind:
        return None
    if kind == "searxng":
        if not settings.SEARXNG_URL:
            raise ConfigurationError("WEB_SEARCH_PROVIDER=searxng needs SEARXNG_URL.")
        provider: SearchProvider = SearxngProvider(settings.SEARXNG_URL, timeout=settings.WEB_SEARCH_TIMEOUT)
    elif kind == "fake":
        provider = FakeSearchProvider()
    else:
        raise ConfigurationError(f"Unknown WEB_SEARCH_PROVIDER {kind!r}.")
    return CachedSearch(provider, ttl=settings.WEB_SEARCH_CACHE_TTL, maxsize=settings.WEB_SEARCH_CACHE_SIZE)


_provider: ProcessWide[SearchProvider | None] = ProcessWide(
    build_search_provider, settings_prefixes=("WEB_SEARCH_", "SEARXNG_")
)


def get_search_provider() -> SearchProvider | None:
    """The configured provider with its cache, or None when web search is off."""
    if not settings.WEB_SEARCH_PROVIDER:
        return None
    return _provider.get()


def reset_search_provider() -> None:
    _provider.reset()


def format_hits(hits: list[SearchHit]) -> str:
    if not hits:
        return "No results."
    return "\n".join(f"{i}. {hit.title} <{hit.url}>\n   {hit.snippet}" for i, hit in enumerate(hits, 1))


def _run_web_search(query: str) -> str:
    provider = get_search_provider()
    if provider is None:
        return "error: web search is off"
    try:
        hits = provider.search(query, limit=settings.WEB_SEARCH_RESULTS)
    except SearchError as exc:
        log.warning("web_search_failed", provider=provider.name, status=exc.status)
        return f"error: web search failed ({exc.message})"
    return format_hits(hits)


def web_search_tool() -> ToolSpec | None:
    """The ``web_search`` tool for :meth:`core.llm.client.LLMClient.chat`, or None when web search is off."""
    if not settings.WEB_SEARCH_PROVIDER:
        return None
    return ToolSpec(
        name="web_search",
        description="Search the web for current information. Use it for facts you do not know or recent events.",
        parameters={
            "type": "object",
            "properties": {"query": {"type": "string", "description": "What to search for, in a few words."}},
            "required": ["query"],
            "additionalProperties": False,
        },
        handler=_run_web_search,
    )
