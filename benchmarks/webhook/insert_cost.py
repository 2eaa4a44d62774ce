"""What the ack's insert costs per event when several events go in one statement, with psycopg keeping the
statement's conversion (%s to $n) and without.

psycopg keeps a statement's conversion only for statements of at most 50 parameters unless core.postgres lifts
that limit; an event binds 27. Each round writes the same number of new events in statements of 1, 2, 4 and 8
events, through the ack's own statement (conversations.services), in autocommit as the ack does, once with
psycopg's own limit and once with core.postgres's, alternately, so that both see the machine at the same time.
Reported per event and group size: CPU of this thread and of its PostgreSQL backend, medians over the rounds.
usage: COST_SCRIPT=insert_cost.py benchmarks/webhook/answer_cost.sh 2000 CONVERSATION_DISPATCH=outbox
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import django

# The checkout measured: BENCH_APP_DIR when the shell script was pointed at another one (before/after).
sys.path.insert(0, os.environ.get("BENCH_APP_DIR") or str(Path(__file__).resolve().parents[2]))
django.setup()

from psycopg import _queries  # noqa: E402

import core.postgres.base  # noqa: E402, F401 - sets the limit this compares with psycopg's own
from benchmarks.process_cpu import backend, cpu  # noqa: E402
from benchmarks.webhook.load import text_event  # noqa: E402
from conversations import services  # noqa: E402

LIMITS = {"psycopg's limit (50)": 50, "core.postgres (1024)": _queries.MAX_CACHED_STATEMENT_PARAMS}
SIZES = (1, 2, 4, 8)


def new_row():
    event = text_event(f"U{uuid.uuid4().hex}", "Hello, what can you do?", uuid.uuid4().hex)
    return services._event_row(event=event, destination="U" + "0" * 32, correlation_id=uuid.uuid4().hex)


def write(rows: list, size: int) -> None:
    for start in range(0, len(rows), size):
        group = rows[start : start + size]
        assert all(stored and stored[1] for stored in services._insert_rows(group))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000, help="events per size, limit and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    db = backend()
    for size in SIZES:  # warm up: every statement prepared
        write([new_row() for _ in range(8 * size)], size)
    results: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for size in SIZES:
            for name, limit in LIMITS.items():
                rows = [new_row() for _ in range(args.events)]
                _queries.MAX_CACHED_STATEMENT_PARAMS = limit
                thread, db_cpu = time.thread_time(), cpu(db)
                write(rows, size)
                thread, db_cpu = time.thread_time() - thread, cpu(db) - db_cpu
                results.setdefault((name, size), []).append((thread * 1e6 / args.events, db_cpu * 1e6 / args.events))
    print(f"{args.events} events per size and limit, {args.rounds} rounds; medians, µs of CPU per event:")
    for size in SIZES:
        line = [f"{size} per statement:"]
        for name in LIMITS:
            runs = results[(name, size)]
            line.append(
                f"{name}: this thread {statistics.median(r[0] for r in runs):6.1f}, "
                f"PostgreSQL {statistics.median(r[1] for r in runs):6.1f}"
            )
        print("  ".join(line))


if __name__ == "__main__":
    main()
