"""What one answered event costs the bot's own thread and its PostgreSQL backend, with nothing else sharing them.

The stack benchmark (run.sh, cpu.py) measures every process under load, where the spread between runs on a
shared machine hides a change of a few tenths of a millisecond. This runs the answer path in one thread instead:
new users' texts are stored as the webhook stores them and answered as the worker answers them, with the LINE and
LLM doubles in threads of this process. Reported per answered event: CPU of this thread (the bot's code, not the
doubles'), CPU of its PostgreSQL backend, and the statements it sent. Run it twice with one setting changed to
compare them; a warm-up of ``--warm-up`` events comes first, as a long-lived worker is warm.
usage: benchmarks/webhook/answer_cost.sh [events=300] [VAR=value ...], which sets up production settings on a
database of its own and runs ``python benchmarks/webhook/answer_cost.py [--events 300] [--warm-up 30]``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
import uuid
from pathlib import Path

import django

# The checkout measured: BENCH_APP_DIR when the shell script was pointed at another one (before/after).
sys.path.insert(0, os.environ.get("BENCH_APP_DIR") or str(Path(__file__).resolve().parents[2]))
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from benchmarks.process_cpu import backend, cpu  # noqa: E402
from conversations.processing import webhook_event_process  # noqa: E402
from conversations.services import webhook_events_store  # noqa: E402
from linesim.line.testing import running_line_double  # noqa: E402
from linesim.llm.testing import running_llm_double  # noqa: E402


def text_event(user_id: str, reply_token: str) -> dict:
    return {
        "type": "message",
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "webhookEventId": uuid.uuid4().hex[:26].upper(),
        "deliveryContext": {"isRedelivery": False},
        "replyToken": reply_token,
        "source": {"type": "user", "userId": user_id},
        "message": {
            "id": str(uuid.uuid4().int)[:18],
            "type": "text",
            "quoteToken": uuid.uuid4().hex,
            "text": "Hello, what can you do?",
        },
    }


def answer(event: dict) -> str:
    (stored,) = webhook_events_store(payload={"destination": "U" + "0" * 32, "events": [event]}, correlation_id=None)
    return webhook_event_process(event_id=stored.id)


def prepare_threshold() -> int | None:
    return settings.DATABASES["default"].get("OPTIONS", {}).get("prepare_threshold")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--warm-up", type=int, default=30)
    # cProfile on this thread's CPU clock, so that waiting on a socket is not counted as work.
    parser.add_argument("--profile", type=Path, default=None, help="write cProfile statistics of the measured events")
    parser.add_argument("--show-statements", action="store_true", help="print the last event's statements")
    args = parser.parse_args()
    profiler = cProfile.Profile(time.thread_time) if args.profile else None
    run = uuid.uuid4().hex[:8]
    with (
        running_line_double(channel_secret=settings.LINE_CHANNEL_SECRET, access_token="cost-token") as line,
        running_llm_double() as llm,
    ):
        settings.LINE_API_BASE_URL = settings.LINE_DATA_API_BASE_URL = line.base_url
        settings.LINE_CHANNEL_ACCESS_TOKEN = "cost-token"
        settings.LLM_PROVIDER, settings.AZURE_OPENAI_ENDPOINT = "azure", llm.azure_endpoint
        settings.AZURE_OPENAI_API_KEY, settings.AZURE_OPENAI_DEPLOYMENT = llm.api_key, "gpt-4o-mini"
        # Each a new user with a profile on LINE and a reply token from it.
        users = [f"U{run}{n:024x}" for n in range(args.warm_up + args.events)]
        for n, user in enumerate(users):
            line.control.add_user(user, f"User {n}", language="en")
        events = [text_event(user, line.control.issue_reply_token(user)) for user in users]
        outcomes = [answer(event) for event in events[: args.warm_up]]
        db = backend()
        # Counted by an execute wrapper: Django's CaptureQueriesContext renders every statement's SQL with its
        # values, which cost this thread about a millisecond per answer and would be measured with it.
        statements = []
        with connection.execute_wrapper(lambda execute, *call: statements.append(call[0]) or execute(*call)):
            thread, db_cpu, wall = time.thread_time(), cpu(db), time.monotonic()
            if profiler:
                profiler.enable()
            outcomes += [answer(event) for event in events[args.warm_up :]]
            if profiler:
                profiler.disable()
            thread, db_cpu, wall = time.thread_time() - thread, cpu(db) - db_cpu, time.monotonic() - wall
    if args.show_statements:
        # One event's statements, as its answer sent them, to see what a change adds or saves.
        per_event = len(statements) // args.events
        for sql in statements[-per_event:]:
            print(" ".join(sql.split())[:300])
    if profiler:
        args.profile.parent.mkdir(parents=True, exist_ok=True)
        # The raw statistics beside the text, for pstats or snakeviz to explore further.
        profiler.dump_stats(args.profile.with_suffix(".prof"))
        with args.profile.open("w") as out:
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(60)
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(40)
    replied = outcomes.count("replied")
    assert replied == len(outcomes), {o: outcomes.count(o) for o in set(outcomes)}
    per = 1000 / args.events
    print(
        f"{args.events} answered events: bot thread {thread * per:.2f} ms, PostgreSQL backend {db_cpu * per:.2f} ms CPU"
        f" per event; {len(statements) / args.events:.1f} statements per event; wall {wall * per:.1f} ms per event"
        f" (prepared statements {'off' if prepare_threshold() is None else 'on'})"
    )


if __name__ == "__main__":
    main()
