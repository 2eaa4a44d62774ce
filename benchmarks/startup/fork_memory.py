"""What a forked child's first full garbage collection costs it in private memory, with start-up's objects
frozen (as ``core.startup.start_up_done`` leaves them) and without.

A prefork worker imports Django, the apps and the SDKs, then forks its children, which share those pages
with it until they write to them. A full collection writes to the header of every object it scans, so
without ``gc.freeze()`` a child's first full pass copies nearly every page the parent's objects live on.
This sets the project up as the worker does, forks a child per measurement, runs ``gc.collect()`` in it and
reports how much of the child's memory became private (``Private_Dirty`` in ``/proc/<pid>/smaps_rollup``).
usage: DJANGO_SETTINGS_MODULE=linebot_project.settings.test \
       .venv/bin/python benchmarks/startup/fork_memory.py [rounds=3]
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
django.setup()

import openai  # noqa: E402, F401  (what the worker imports before its pool forks)

from core.line import sdk  # noqa: E402, F401
from core.startup import start_up_done  # noqa: E402


def private_dirty_kib() -> int:
    with open("/proc/self/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    raise RuntimeError("no Private_Dirty in smaps_rollup")


def child_cost_kib(*, frozen: bool) -> int:
    """Private memory a new child gains from one full collection."""
    if frozen:
        start_up_done()
    else:
        gc.unfreeze()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        before = private_dirty_kib()
        gc.collect()
        os.write(write, str(private_dirty_kib() - before).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    return int(os.read(read, 64))


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    start_up_done()
    print(f"objects the collector tracks after start-up: {gc.get_freeze_count() + len(gc.get_objects()):,}")
    for round_ in range(1, rounds + 1):
        for frozen in (False, True):
            cost = child_cost_kib(frozen=frozen)
            print(f"round {round_}, {'frozen' if frozen else 'not frozen'}: {cost / 1024:.1f} MiB made private")


if __name__ == "__main__":
    main()
