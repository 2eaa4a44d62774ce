"""Where a campaign send spends its CPU: preparation and chunks, in this process and in its PostgreSQL backend.

Run by hand on a benchmark database seeded by ``bench.py seed`` (run.sh leaves one): one campaign to every
follower is drafted, submitted, approved and claimed through the services; then its preparation runs here
(every part, one after another) and then ``chunks`` of its chunks are delivered to the LINE double (started in
this process, rate limits off). For each phase: wall time, CPU of this process and of its PostgreSQL backend,
per 1,000 recipients; ``--profile`` writes cProfile statistics of each phase next to the results.
usage: DATABASE_URL=... DJANGO_SETTINGS_MODULE=linebot_project.settings.production \\
         python benchmarks/campaigns/profile_send.py [--chunks 20] [--profile var/bench/campaigns/profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
django.setup()

import psutil  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402

from benchmarks.process_cpu import backend, cpu  # noqa: E402
from core.line.client import get_line_client  # noqa: E402
from linesim.line.testing import running_line_double  # noqa: E402
from richmessages.campaigns import delivery, dispatch, preparation, services  # noqa: E402
from richmessages.campaigns.models import CampaignChunk, CampaignRecipient, CampaignSend  # noqa: E402
from richmessages.models import RichMessage  # noqa: E402


class Phase:
    def __init__(self, name: str, profile_dir: Path | None):
        self.name, self.profile_dir = name, profile_dir
        self.profiler = cProfile.Profile() if profile_dir else None

    def __enter__(self):
        self.db, self.me = backend(), psutil.Process()
        self.wall, self.cpu, self.db_cpu = time.monotonic(), cpu(self.me), cpu(self.db)
        if self.profiler:
            self.profiler.enable()
        return self

    def __exit__(self, *exc) -> None:
        if self.profiler:
            self.profiler.disable()
        self.wall = time.monotonic() - self.wall
        self.cpu = cpu(self.me) - self.cpu
        self.db_cpu = cpu(self.db) - self.db_cpu
        if self.profiler:
            self.profile_dir.mkdir(parents=True, exist_ok=True)
            path = self.profile_dir / f"{self.name}.txt"
            with path.open("w") as out:
                pstats.Stats(self.profiler, stream=out).sort_stats("cumulative").print_stats(40)
                pstats.Stats(self.profiler, stream=out).sort_stats("tottime").print_stats(30)

    def report(self, recipients: int) -> str:
        per = 1_000_000 / max(1, recipients)
        return (
            f"{self.name}: {recipients} recipients, wall {self.wall:.2f} s, "
            f"worker CPU {self.cpu * per:.1f} ms/1000, PostgreSQL CPU {self.db_cpu * per:.1f} ms/1000"
        )


def prepare_whole(send_id: int) -> None:
    """Every part one after another (or, on the code before parts, the one task's batches), chunks not queued."""
    if not hasattr(preparation, "send_part_prepare"):
        preparation.send_prepare(send_id, time_budget=10**9)
        return
    preparation.send_prepare(send_id)
    for part_id in preparation.part_ids_to_run(send_id):
        preparation.send_part_prepare(part_id, time_budget=10**9)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--profile", type=Path, default=None)
    args = parser.parse_args()
    users = get_user_model()
    editor, operator = users.objects.get(username="bench-editor"), users.objects.get(username="bench-operator")
    with running_line_double(access_token="profile-token", rate_limits=False) as line:
        settings.LINE_API_BASE_URL = settings.LINE_DATA_API_BASE_URL = line.base_url
        settings.LINE_CHANNEL_ACCESS_TOKEN = "profile-token"
        settings.CAMPAIGN_MULTICAST_PER_SECOND = 100_000
        line.control.configure(monthlyQuota=0)
        get_line_client()  # imports the SDK once, as a worker does at its first call: not a per-send cost
        campaign = services.campaign_create(
            author=editor,
            name=f"Profile {os.getpid()}",
            rich_message=RichMessage.objects.first(),
            audience={"type": "all_followers"},
            frequency_cap_day=100,
            cooldown=False,
        )
        services.campaign_submit(campaign=campaign, actor=editor)
        services.campaign_approve(campaign=campaign, approver=operator)
        (send_id,) = dispatch.sends_claim_due()
        with Phase("prepare", args.profile) as prepare:
            prepare_whole(send_id)
        recipients = CampaignSend.objects.get(pk=send_id).recipients
        print(prepare.report(recipients))
        chunk_ids = list(
            CampaignChunk.objects.filter(send_id=send_id).order_by("pk").values_list("pk", flat=True)[: args.chunks]
        )
        with Phase("chunks", args.profile) as chunks:
            for chunk_id in chunk_ids:
                delivery.chunk_deliver(chunk_id)
        sent = CampaignRecipient.objects.filter(chunk_id__in=chunk_ids, status="sent").count()
        print(chunks.report(sent))


if __name__ == "__main__":
    main()
