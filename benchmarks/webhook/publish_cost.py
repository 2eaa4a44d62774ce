"""What publishing one event's task costs the publisher (the relay, or the web tier without the outbox) in CPU.

Publishes ``--events`` tasks to a queue of its own on the broker, in batches of ``--batch`` through
``webhook_events_enqueue`` as the relay does, and reports this process's CPU per publish; the queue is deleted
at the end. Nothing consumes it.
usage: COST_SCRIPT=publish_cost.py benchmarks/webhook/answer_cost.sh 10000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
django.setup()

from django.conf import settings  # noqa: E402

from conversations.tasks import process_webhook_event, webhook_events_enqueue  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()
    settings.CONVERSATION_TASK_QUEUE = f"bench-publish-cost-{os.getpid()}"
    try:
        webhook_events_enqueue(event_ids=list(range(args.batch)))  # connects and declares the queue
        started = time.process_time()
        for first in range(0, args.events, args.batch):
            webhook_events_enqueue(event_ids=list(range(first, min(first + args.batch, args.events))))
        spent = time.process_time() - started
    finally:
        with process_webhook_event.app.connection_for_write() as conn:
            conn.default_channel.queue_delete(settings.CONVERSATION_TASK_QUEUE)
    print(f"{args.events} publishes in batches of {args.batch}: {spent / args.events * 1000:.3f} ms CPU per publish")


if __name__ == "__main__":
    main()
