"""PostgreSQL without a round trip to test each connection before a request uses it.

Django's ``CONN_HEALTH_CHECKS`` with a pool runs an empty query on every checkout: one more round
trip to PostgreSQL for every request, more than the work of a webhook ack itself. A session the
server ended (a restart, an idle timeout, an administrator) has already told us so: the server
sends its last error and closes the socket, which becomes readable. An idle session otherwise has
nothing to say, so a readable socket on checkout means a dead session; looking costs one poll(2)
and no round trip. The pool replaces a discarded connection, and ``max_lifetime``/``max_idle``
retire the rest.

    DATABASES["default"]["ENGINE"] = "core.postgres"   # with OPTIONS["pool"] and CONN_HEALTH_CHECKS off

The same look serves persistent per-thread connections (``CONN_MAX_AGE`` > 0 with
``CONN_HEALTH_CHECKS`` on): Django's health check at a request's first query becomes the poll
instead of ``SELECT 1``.

It also keeps the conversion of every statement of up to 4 kB, however many parameters it binds (below).
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import _queries

# psycopg turns a statement's %s placeholders into PostgreSQL's $1, $2, … on every execute, and keeps the result
# only for statements of at most 4 kB and 50 parameters, against an ORM's endless variants of ``IN (…)``. The ack's
# insert of several events at once (27 parameters each, conversations.services) is a handful of fixed statements
# under 2 kB, and converting one anew cost the web process 50 to 80 µs per event, a tenth of its CPU per ack under
# load (benchmarks/webhook/insert_cost.py; docs/PERFORMANCE.md, "Grouped acks converted once"). The length limit
# still bounds what the 128 kept conversions hold.
_queries.MAX_CACHED_STATEMENT_PARAMS = 1024


def session_looks_alive(conn) -> bool:
    """False when the server has ended this idle session (its socket holds a goodbye or end of file)."""
    if conn.closed:
        return False
    try:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self):
        if self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        if not session_looks_alive(self.connection):
            self.close()
        self.health_check_done = True

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        pool = self.pool
        if pool is None:
            return connection
        # After a restart every pooled session is dead: each is dropped and the pool connects anew.
        for _ in range(pool.max_size):
            if session_looks_alive(connection):
                return connection
            connection.close()
            pool.putconn(connection)
            connection = super().get_new_connection(conn_params)
        return connection
