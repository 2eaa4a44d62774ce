"""Campaign delivery benchmark: the driver that run.sh starts once the stack is up.

  seed N         N active followers (one INSERT … SELECT generate_series), a rich message, an editor and an operator
  run            a campaign to all of them (a frequency cap, so multicast, not one broadcast), drafted, submitted
                 and approved through the services; times the approval to the campaign's "sent", samples the
                 CPU and RSS of every worker process, optionally SIGKILLs one worker mid-run (and starts a
                 replacement, as a supervisor would), then counts what the LINE double received.

Duplicates and losses are counted from the double's own record of the multicast calls it accepted (HTTP 200):
a user id received twice is a duplicate, a recipient never received is a loss.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linebot_project.settings.production")
django.setup()

import psutil  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Sum  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts import roles  # noqa: E402
from conversations.models import LineUser  # noqa: E402
from richmessages.campaigns import services  # noqa: E402
from richmessages.campaigns.models import Campaign, CampaignRecipient, CampaignSend  # noqa: E402
from richmessages.models import RichMessage, RichTemplate, RichTemplateVersion  # noqa: E402

FLEX = {
    "type": "flex",
    "altText": "Spring run",
    "contents": {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "Good morning"}]},
    },
}


def seed(count: int) -> None:
    template = LineUser.objects.create(line_user_id="U" + "0" * 32, language="en", followed_at=timezone.now())
    table = LineUser._meta.db_table
    columns = [f.column for f in LineUser._meta.concrete_fields if f.column not in ("id", "line_user_id")]
    listed = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({listed}, line_user_id) "
            f"SELECT {listed}, 'U' || md5(g::text) FROM {table}, generate_series(1, %s) g WHERE id = %s",
            [count, template.pk],
        )
        cursor.execute(f"ANALYZE {table}")
    template.delete()
    users = get_user_model_class()
    editor = users.objects.create_user("bench-editor", password="bench only password 42", is_staff=True)
    editor.groups.add(Group.objects.get(name=roles.CONTENT_EDITOR))
    operator = users.objects.create_user("bench-operator", password="bench only password 42", is_staff=True)
    operator.groups.add(Group.objects.get(name=roles.OPERATOR))
    rich_template = RichTemplate.objects.create(name="Bench", slug="bench")
    version = RichTemplateVersion.objects.create(
        template=rich_template,
        number=1,
        status=RichTemplateVersion.Status.APPROVED,
        background="rich/backgrounds/x.png",
        background_sha256="0" * 64,
        width=1040,
        height=1040,
        title_area={"x": 0, "y": 0, "width": 10, "height": 10},
        body_area={"x": 0, "y": 20, "width": 10, "height": 10},
    )
    RichMessage.objects.create(
        template_version=version,
        language="en",
        title="Spring run",
        body="Run",
        copy_source=RichMessage.CopySource.GIVEN,
        image="rich/composed/x.png",
        image_sha256="1" * 64,
        flex=FLEX,
    )
    print(f"seeded {LineUser.objects.count()} followers")


def get_user_model_class():
    from django.contrib.auth import get_user_model

    return get_user_model()


# --- the worker processes -----------------------------------------------------------------------------------
class Workers:
    """Celery worker processes (each a prefork parent with its children), sampled for CPU and RSS."""

    def __init__(self, command: list[str], count: int, log_dir: Path):
        self.command, self.log_dir = command, log_dir
        self.parents: list[subprocess.Popen] = []
        self.cpu_of_gone = 0.0
        self.peak_rss: dict[int, int] = {}
        self.cpu_seen: dict[int, float] = {}
        self.db_cpu_seen: dict[int, float] = {}
        self.stop_sampling = threading.Event()
        for _ in range(count):
            self.start_one()

    def start_one(self) -> None:
        index = len(self.parents)
        log = open(self.log_dir / f"worker-{index}.log", "w")  # noqa: SIM115 - lives with the process
        # Each worker its own node name: two with one name lock each other out of the broker's pidbox queue.
        name = f"bench-campaigns-{os.getpid()}-{index}@%h"
        self.parents.append(subprocess.Popen([*self.command, "-n", name], stdout=log, stderr=subprocess.STDOUT))

    def wait_ready(self, timeout: float = 120) -> float:
        """Seconds until every live worker answers a broadcast ping (on a busy machine, tens of seconds)."""
        from linebot_project.celery import app

        started = time.monotonic()
        live = sum(1 for parent in self.parents if parent.poll() is None)
        while time.monotonic() - started < timeout:
            mine = [n for reply in app.control.ping(timeout=1.0) for n in reply if f"-{os.getpid()}-" in n]
            if len(mine) >= live:
                return time.monotonic() - started
        raise RuntimeError("the workers did not start")

    def processes(self) -> list[psutil.Process]:
        found = []
        for parent in self.parents:
            if parent.poll() is not None:
                continue
            try:
                process = psutil.Process(parent.pid)
                found.append(process)
                found.extend(process.children(recursive=True))
            except psutil.NoSuchProcess:
                continue
        return found

    def backends(self) -> list[psutil.Process]:
        """The PostgreSQL server processes serving this benchmark's database (their CPU is delivery's too)."""
        database = connection.settings_dict["NAME"]
        found = []
        for process in psutil.process_iter(["cmdline"]):
            line = " ".join(process.info["cmdline"] or [])
            if line.startswith("postgres:") and f" {database} " in f"{line} ":
                found.append(process)
        return found

    def sample(self) -> None:
        for process in self.backends():
            try:
                times = process.cpu_times()
            except psutil.Error:
                continue
            self.db_cpu_seen[process.pid] = times.user + times.system
        for process in self.processes():
            try:
                with process.oneshot():
                    rss = process.memory_info().rss
                    times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            self.peak_rss[process.pid] = max(self.peak_rss.get(process.pid, 0), rss)
            self.cpu_seen[process.pid] = times.user + times.system

    def sample_forever(self) -> None:
        while not self.stop_sampling.wait(0.25):
            self.sample()

    def cpu_total(self) -> float:
        return sum(self.cpu_seen.values())

    def kill_one(self) -> list[int]:
        """SIGKILLs the first live worker, its parent and its children at once, and starts a replacement."""
        parent = next(p for p in self.parents if p.poll() is None)
        self.sample()
        victims = [parent.pid, *(c.pid for c in psutil.Process(parent.pid).children(recursive=True))]
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        parent.wait()
        self.start_one()
        return victims

    def stop(self) -> None:
        self.stop_sampling.set()
        for parent in self.parents:
            if parent.poll() is None:
                parent.terminate()
        for parent in self.parents:
            try:
                parent.wait(timeout=20)
            except subprocess.TimeoutExpired:
                parent.kill()


def line_received(base_url: str) -> Counter:
    with urllib.request.urlopen(f"{base_url}/_control/requests?endpoint=multicast&status=200", timeout=300) as answer:
        calls = json.load(answer)["requests"]
    return Counter(user for call in calls for user in call["to"])


def line_calls(base_url: str) -> Counter:
    with urllib.request.urlopen(f"{base_url}/_control/requests?endpoint=multicast", timeout=300) as answer:
        calls = json.load(answer)["requests"]
    return Counter(str(call["status"]) for call in calls)


def run(args) -> dict:
    from django.contrib.auth import get_user_model

    users = get_user_model()
    editor, operator = users.objects.get(username="bench-editor"), users.objects.get(username="bench-operator")
    message = RichMessage.objects.get()
    expected = LineUser.objects.count()
    command = [
        ".venv/bin/celery",
        "-A",
        "linebot_project",
        "worker",
        "-Q",
        os.environ["CAMPAIGN_TASK_QUEUE"],
        "--pool=prefork",
        f"--concurrency={args.concurrency}",
        "--loglevel=WARNING",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    workers = Workers(command, args.workers, Path(args.out))
    print(f"workers ready after {workers.wait_ready():.1f} s", file=sys.stderr)
    time.sleep(args.warmup)
    workers.sample()
    idle_cpu = workers.cpu_total()
    idle_db_cpu = sum(workers.db_cpu_seen.values())
    sampler = threading.Thread(target=workers.sample_forever, daemon=True)
    sampler.start()

    campaign = services.campaign_create(
        author=editor,
        name="Benchmark",
        rich_message=message,
        audience={"type": "all_followers"},
        # Per-user guards (evaluated for everyone, so our own multicast, not one LINE broadcast), loose enough
        # that a rerun on the same followers is not capped.
        frequency_cap_day=100,
        cooldown=False,
    )
    services.campaign_submit(campaign=campaign, actor=editor)
    started = time.monotonic()
    services.campaign_approve(campaign=campaign, approver=operator)
    killed: list[int] = []
    killed_at = None
    phases = {}
    while True:
        status = Campaign.objects.filter(pk=campaign.pk).values_list("status", flat=True).get()
        elapsed = time.monotonic() - started
        sent = CampaignSend.objects.filter(campaign=campaign).aggregate(n=Sum("sent"))["n"] or 0
        if "claimed" not in phases and status == Campaign.Status.SENDING:
            phases["claimed"] = round(elapsed, 1)
        if "released" not in phases and CampaignSend.objects.filter(campaign=campaign, released=True).exists():
            phases["released"] = round(elapsed, 1)
        if "prepared" not in phases and CampaignSend.objects.filter(campaign=campaign, prepared=True).exists():
            phases["prepared"] = round(elapsed, 1)
        if "first_sent" not in phases and sent:
            phases["first_sent"] = round(elapsed, 1)
        if args.kill and not killed and sent >= expected * args.kill:
            killed = workers.kill_one()
            killed_at = round(elapsed, 1)
        if status in Campaign.FINAL:
            break
        if elapsed > args.timeout:
            print(f"timed out after {args.timeout} s in status {status}", file=sys.stderr)
            break
        time.sleep(0.5)
    elapsed = time.monotonic() - started
    workers.sample()
    cpu = workers.cpu_total() - idle_cpu
    db_cpu = sum(workers.db_cpu_seen.values()) - idle_db_cpu
    workers.stop()

    received = line_received(os.environ["LINE_API_BASE_URL"])
    ids = set(LineUser.objects.values_list("line_user_id", flat=True))
    duplicates = sum(count - 1 for count in received.values() if count > 1)
    losses = len(ids - set(received))
    counts = Campaign.objects.get(pk=campaign.pk)
    result = {
        "recipients": expected,
        "status": counts.status,
        "seconds": round(elapsed, 1),
        "recipients_per_second": round(expected / elapsed),
        "claimed_after_seconds": phases.get("claimed"),
        # Released: chunks may go (before the preparation ends when the audience fits the quota).
        "prepared_after_seconds": phases.get("released"),
        "all_prepared_after_seconds": phases.get("prepared"),
        "first_sent_after_seconds": phases.get("first_sent"),
        "worker_cpu_seconds": round(cpu, 1),
        "worker_cpu_ms_per_1000": round(1000 * cpu / expected * 1000, 1),
        "postgres_cpu_seconds": round(db_cpu, 1),
        "postgres_cpu_ms_per_1000": round(1000 * db_cpu / expected * 1000, 1),
        "peak_worker_rss_mb": round(max(workers.peak_rss.values()) / 2**20, 1),
        "workers": args.workers,
        "concurrency": args.concurrency,
        "killed_pids": killed,
        "killed_at_seconds": killed_at,
        "multicast_calls_by_status": dict(line_calls(os.environ["LINE_API_BASE_URL"])),
        "received_user_ids": len(received),
        "duplicates": duplicates,
        "losses": losses,
        "sent_rows": CampaignRecipient.objects.filter(send__campaign=campaign, status="sent").count(),
    }
    print(json.dumps(result))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    seeding = sub.add_parser("seed")
    seeding.add_argument("count", type=int)
    running = sub.add_parser("run")
    running.add_argument("--workers", type=int, default=2)
    running.add_argument("--concurrency", type=int, default=2)
    running.add_argument("--kill", type=float, default=0.0, help="SIGKILL a worker once this share was sent")
    running.add_argument("--timeout", type=float, default=1800)
    running.add_argument("--warmup", type=float, default=15)
    running.add_argument("--out", default="var/bench/campaigns")
    args = parser.parse_args()
    if args.command == "seed":
        seed(args.count)
    else:
        run(args)


if __name__ == "__main__":
    main()
