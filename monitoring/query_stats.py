"""The database's top queries, from PostgreSQL's ``pg_stat_statements``, for the ops console.

The extension needs ``shared_preload_libraries = 'pg_stat_statements'`` in the server's settings
(docker/compose.yml sets it) and ``CREATE EXTENSION pg_stat_statements`` in the database (migration
monitoring 0005 tries it). When either is missing the result says which, and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import DatabaseError, connections, transaction

_SELECT = (
    "SELECT query, calls, total_exec_time, mean_exec_time, rows FROM pg_stat_statements"
    " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
ORDERS = {
    "total": _SELECT + " ORDER BY total_exec_time DESC LIMIT %s",
    "mean": _SELECT + " ORDER BY mean_exec_time DESC LIMIT %s",
    "calls": _SELECT + " ORDER BY calls DESC LIMIT %s",
}


@dataclass(frozen=True)
class QueryStat:
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int


@dataclass
class QueryStats:
    available: bool
    reason: str = ""
    rows: list[QueryStat] = field(default_factory=list)


def top_queries(*, using: str = "default", order: str = "total", limit: int = 50) -> QueryStats:
    """The ``limit`` queries of this database with the most total time (or mean time, or calls)."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {', '.join(ORDERS)}")
    connection = connections[using]
    if connection.vendor != "postgresql":
        return QueryStats(False, f"Query statistics need PostgreSQL; this database is {connection.vendor}.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
        if cursor.fetchone() is None:
            return QueryStats(
                False,
                "The pg_stat_statements extension is not installed in this database. "
                "Run CREATE EXTENSION pg_stat_statements (as a superuser) after setting "
                "shared_preload_libraries = 'pg_stat_statements' and restarting PostgreSQL.",
            )
        try:
            with transaction.atomic(using=using):
                cursor.execute(ORDERS[order], [limit])
                found = cursor.fetchall()
        except DatabaseError as exc:
            return QueryStats(
                False,
                "pg_stat_statements is installed but PostgreSQL did not load it: set "
                "shared_preload_libraries = 'pg_stat_statements' and restart the server "
                f"({str(exc).strip().splitlines()[0]}).",
            )
    return QueryStats(True, rows=[QueryStat(q, int(c), float(t), float(m), int(r)) for q, c, t, m, r in found])
