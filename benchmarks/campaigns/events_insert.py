"""Recording 500 DELIVERED events (one multicast chunk): the ORM's bulk INSERT against COPY, interleaved.

Run by hand on the benchmark database (run.sh leaves it): CPU of this process and of its PostgreSQL backend,
and wall time, per chunk of 500. Each round inserts inside a transaction that is rolled back.
usage: DATABASE_URL=... DJANGO_SETTINGS_MODULE=linebot_project.settings.production \\
         python benchmarks/campaigns/events_insert.py [rounds]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
django.setup()

import psutil  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from analytics import services  # noqa: E402
from analytics.models import Event  # noqa: E402
from benchmarks.process_cpu import backend, cpu  # noqa: E402
from conversations.models import LineUser  # noqa: E402

PROPS = {"line_request_id": "5b59b3e8-2f0b-4d39-a5a4-1f0d2c0a6e11", "method": "multicast"}


def orm(pks: list[int]) -> None:
    now = timezone.now()
    Event.objects.bulk_create(
        [Event(type=Event.Type.DELIVERED, occurred_at=now, line_user_id=pk, campaign_id=1, props=PROPS) for pk in pks],
        batch_size=1000,
    )


def copy(pks: list[int]) -> None:
    services.events_record_bulk(type=Event.Type.DELIVERED, line_user_ids=pks, campaign_id=1, props=PROPS)


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    pks = list(LineUser.objects.order_by("pk").values_list("pk", flat=True)[:500])
    server, me = backend(), psutil.Process(os.getpid())
    totals = {"orm": [0.0, 0.0, 0.0], "copy": [0.0, 0.0, 0.0]}
    for _ in range(rounds):
        for name, insert in (("orm", orm), ("copy", copy)):
            wall, mine, theirs = time.perf_counter(), cpu(me), cpu(server)
            with transaction.atomic():
                insert(pks)
                transaction.set_rollback(True)
            totals[name][0] += time.perf_counter() - wall
            totals[name][1] += cpu(me) - mine
            totals[name][2] += cpu(server) - theirs
    for name, (wall, mine, theirs) in totals.items():
        print(
            f"{name}: per chunk of 500: wall {1000 * wall / rounds:.1f} ms, "
            f"python {1000 * mine / rounds:.1f} ms cpu, postgres {1000 * theirs / rounds:.1f} ms cpu"
        )


if __name__ == "__main__":
    main()
