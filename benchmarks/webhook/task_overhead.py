"""What Celery's own handling of one task costs a worker, for a task that does nothing.

Starts a worker (``--pool`` and the rest as given after ``--``) on a queue of its own, stores ``--events``
messages of Celery's built-in ``celery.accumulate`` task (which returns its argument) on a second queue while the
worker is not consuming it, then tells the worker to consume it, and reports the worker's CPU, the parent and its
children together, per task, less what the idle worker spends in the same time. This is the fixed cost that each
answered event pays on top of its task's own work (answer_cost.py).
usage: COST_SCRIPT=task_overhead.py COST_ARGS="-- --pool=prefork --concurrency=4" \\
         benchmarks/webhook/answer_cost.sh 3000
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import django
import psutil

# The checkout measured: BENCH_APP_DIR when the shell script was pointed at another one (before/after).
sys.path.insert(0, os.environ.get("BENCH_APP_DIR") or str(Path(__file__).resolve().parents[2]))
django.setup()

from linebot_project.celery import app  # noqa: E402


def cpu(process: psutil.Process) -> float:
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def queued(queue: str) -> int:
    with app.connection_for_write() as connection:
        return connection.default_channel.queue_declare(queue, passive=True).message_count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("worker_options", nargs="*", default=["--pool=prefork", "--concurrency=4"])
    args = parser.parse_args()
    queue, name = f"task-overhead-{os.getpid()}", f"task-overhead-{os.getpid()}@{socket.gethostname()}"
    worker = subprocess.Popen(
        [
            *(".venv/bin/celery", "-A", "linebot_project", "worker", "-Q", f"{queue}-idle", "-n", name),
            *args.worker_options,
            *("--loglevel=WARNING", "--without-gossip", "--without-mingle"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        accumulate = app.tasks["celery.accumulate"]
        with app.producer_or_acquire() as producer:
            for n in range(args.events):
                accumulate.apply_async(args=[n], queue=queue, producer=producer)
        process = psutil.Process(worker.pid)
        time.sleep(8)  # the worker starts and its pool forks
        before, started = cpu(process), time.monotonic()
        time.sleep(2)
        idle_per_second = (cpu(process) - before) / (time.monotonic() - started)
        before, started = cpu(process), time.monotonic()
        app.control.add_consumer(queue, destination=[name], reply=True, timeout=10)
        while queued(queue):
            time.sleep(0.05)
        time.sleep(0.5)  # the last tasks' acknowledgements
        spent, wall = cpu(process) - before, time.monotonic() - started
    finally:
        worker.terminate()
        worker.wait()
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)
            connection.default_channel.queue_delete(f"{queue}-idle")
    per_task = (spent - idle_per_second * wall) / args.events * 1000
    print(f"{' '.join(args.worker_options)}: {args.events} tasks that do nothing, {per_task:.3f} ms of worker CPU each")


if __name__ == "__main__":
    main()
