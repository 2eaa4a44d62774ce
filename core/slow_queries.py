"""Every database query slower than ``SLOW_QUERY_MS`` is logged with its fingerprint and counted.

Installed on each database connection as it opens (``connection_created``), as a Django execute
wrapper. The log line carries the correlation id (bound in the logging context by the request or
task) and the query's *fingerprint*: its text with every literal replaced by ``?`` and lists folded,
so one slow query shape is one line in a search, and values (personal data among them) never reach
the logs. ``pg_stat_statements`` (docs/runbooks/slow-queries.md) has the longer view.
"""

from __future__ import annotations

import hashlib
import re
import time

from django.conf import settings
from django.db.backends.signals import connection_created
from prometheus_client import Counter

from core import correlation
from core.logging import get_logger

log = get_logger(__name__)

SLOW_QUERIES = Counter("db_slow_queries_total", "Database queries slower than SLOW_QUERY_MS", ["alias"])

_STRING = re.compile(r"'(?:[^']|'')*'")
_NUMBER = re.compile(r"(?<![\w$])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b")
_PLACEHOLDER = re.compile(r"%s|%\(\w+\)s|\$\d+")
_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)+\s*\)")
_ROWS = re.compile(r"\(\?(?:\.\.\.)?\)(?:, \(\?(?:\.\.\.)?\))+")
_SPACE = re.compile(r"\s+")
_SQL_SHOWN = 2000


def normalised(sql: str) -> str:
    """The query's shape: literals and placeholders as ``?``, lists of them as ``(?...)``, spaces folded."""
    text = _STRING.sub("?", sql)
    text = _PLACEHOLDER.sub("?", text)
    text = _NUMBER.sub("?", text)
    text = _LIST.sub("(?...)", text)
    text = _SPACE.sub(" ", text).strip()
    # A multi-row insert with any number of rows is one shape.
    return _ROWS.sub("(?...)...", text)


def fingerprint(sql: str) -> str:
    return hashlib.sha1(normalised(sql).encode(), usedforsecurity=False).hexdigest()[:16]


class SlowQueryLogger:
    """The execute wrapper of one connection (``alias``)."""

    def __init__(self, alias: str):
        self.alias = alias

    def __call__(self, execute, sql, params, many, context):
        threshold = settings.SLOW_QUERY_MS
        if not threshold:
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            if elapsed_ms >= threshold:
                self._report(sql, elapsed_ms, many)

    def _report(self, sql: str, elapsed_ms: float, many: bool) -> None:
        SLOW_QUERIES.labels(alias=self.alias).inc()
        shape = normalised(sql)
        log.warning(
            "slow_query",
            fingerprint=fingerprint(sql),
            duration_ms=round(elapsed_ms, 1),
            threshold_ms=settings.SLOW_QUERY_MS,
            alias=self.alias,
            many=many,
            sql=shape[:_SQL_SHOWN],
            # Bound already by requests and tasks; named here so a line read alone still has it.
            correlation_id=correlation.current() or "",
        )


def _install(sender, connection, **kwargs) -> None:
    if not any(isinstance(w, SlowQueryLogger) for w in connection.execute_wrappers):
        connection.execute_wrappers.append(SlowQueryLogger(connection.alias))


def enable() -> None:
    connection_created.connect(_install, dispatch_uid="core.slow_queries")
