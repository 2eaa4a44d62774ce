"""What publishing one event's task costs the publisher (the relay, or the web tier without the outbox) in CPU.

Publishes ``--events`` tasks to a queue of its own on the broker, in batches of ``--batch`` through
``webhook_events_enqueue`` as the relay does, and reports this process's CPU per publish; the queue is deleted
at the end. Nothing consumes it, so the queue fills as it would behind workers that cannot keep up.
``--pack N`` lets the relay's packing put up to N events in a message (conversations.packing); the line then
also gives the messages published and RabbitMQ's CPU per event (all of the server's, so nothing else may use it).
usage: COST_SCRIPT=publish_cost.py [COST_ARGS="--pack 8"] benchmarks/webhook/answer_cost.sh 10000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import django

# The checkout measured: BENCH_APP_DIR when the shell script was pointed at another one (before/after).
sys.path.insert(0, os.environ.get("BENCH_APP_DIR") or str(Path(__file__).resolve().parents[2]))
django.setup()

from cpu import group_cpu_ms  # noqa: E402  (this script's directory is first on the path)
from django.conf import settings  # noqa: E402

from conversations.packing import Packing  # noqa: E402
from conversations.tasks import process_webhook_event, webhook_events_enqueue  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--pack", type=int, default=1, help="the most events per message (1: one each)")
    args = parser.parse_args()
    settings.CONVERSATION_TASK_QUEUE = f"bench-publish-cost-{os.getpid()}"
    packing = Packing(largest=args.pack)
    try:
        webhook_events_enqueue(event_ids=[0])  # connects and declares the queue
        broker_started, started = group_cpu_ms("rabbitmq"), time.process_time()
        for first in range(0, args.events, args.batch):
            ids = list(range(first, min(first + args.batch, args.events)))
            webhook_events_enqueue(event_ids=ids, packing=packing)
        spent, broker_ms = time.process_time() - started, group_cpu_ms("rabbitmq") - broker_started
        with process_webhook_event.app.connection_for_write() as conn:
            messages = conn.default_channel.queue_declare(settings.CONVERSATION_TASK_QUEUE, passive=True).message_count
    finally:
        with process_webhook_event.app.connection_for_write() as conn:
            conn.default_channel.queue_delete(settings.CONVERSATION_TASK_QUEUE)
    print(
        f"{args.events} events in batches of {args.batch}, packs of at most {args.pack}: "
        f"{spent / args.events * 1000:.3f} ms CPU per event, {messages - 1} messages, "
        f"RabbitMQ {broker_ms / args.events:.3f} ms per event"
    )


if __name__ == "__main__":
    main()
