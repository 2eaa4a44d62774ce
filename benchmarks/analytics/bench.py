"""Analytics at size: events loaded with COPY, rollups, the campaign and template endpoints, a CSV export.

    python -m benchmarks.analytics.bench load --events 10000000 --campaigns 1000
    python -m benchmarks.analytics.bench measure [--requests 200]
    python -m benchmarks.analytics.bench export --rows 1000000     (one process: time and peak RSS)

Run from the repository root with DATABASE_URL naming a PostgreSQL database of its own
(benchmarks/analytics/run.sh creates and migrates it, then runs the three steps). ``load`` writes 200,000 LINE
users, 50 templates with one message each, 1,000 campaigns (a third with A/B variants) and the events: per
campaign a send (delivered, 5 % held out) on one of 60 days, taps, link clicks and blocks within 24 hours of it,
and messages and follows spread over the days. The events are COPYed in text format through the table's
indexes (the BRIN on time, the campaign and user b-trees) as they stand in production. It also times the service
(``events_record_bulk`` in batches of 1,000, and ``event_record`` one at a time).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linebot_project.settings.local")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from analytics import rollups  # noqa: E402
from analytics.models import DailyRollup, Event, RollupState  # noqa: E402
from analytics.services import event_record, events_record_bulk  # noqa: E402
from conversations.models import LineUser  # noqa: E402
from core.config.models import RuntimeSetting  # noqa: E402
from richmessages.campaigns.models import Campaign, CampaignVariant  # noqa: E402
from richmessages.models import RichMessage, RichTemplate, RichTemplateVersion  # noqa: E402

START = datetime(2026, 9, 1, tzinfo=UTC)
DAYS = 60
USERS = 200_000
TEMPLATES = 50
BUTTONS = ("more", "like", "save", "share")
COLUMNS = (
    "occurred_at",
    "type",
    "line_user_id",
    "campaign_id",
    "variant",
    "rich_message_id",
    "template_version_id",
    "button",
    "props",
)
# Shares of the events, by type: deliveries dominate, as they do for a bot that sends campaigns.
SHARES = {
    "delivered": 0.70,
    "holdout": 0.037,
    "postback": 0.15,
    "link_click": 0.03,
    "unfollow": 0.003,
    "message": 0.06,
    "follow": 0.01,
    "richmenu_tap": 0.01,
}


def say(**figures) -> None:
    print(json.dumps(figures, default=str), flush=True)


def _users() -> list[int]:
    existing = LineUser.objects.count()
    if existing < USERS:
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(
                "COPY conversations_lineuser (line_user_id, display_name, picture_url, status_message, language,"
                " status, first_seen_at, last_seen_at, followed_at, tags, timezone) FROM STDIN"
            ) as copy,
        ):
            for n in range(existing, USERS):
                followed = START + timedelta(seconds=random.randrange(DAYS * 86400))
                zone = random.choice(("Asia/Bangkok", "Asia/Tokyo", ""))
                copy.write_row((f"U{n:032x}", "", "", "", "th", "active", followed, followed, followed, "[]", zone))
    return list(LineUser.objects.order_by("pk").values_list("pk", flat=True))


def _content() -> list[RichMessage]:
    messages = list(RichMessage.objects.select_related("template_version").order_by("pk")[:TEMPLATES])
    for n in range(len(messages), TEMPLATES):
        template = RichTemplate.objects.create(name=f"Bench template {n}", slug=f"bench-{n}")
        version = RichTemplateVersion.objects.create(
            template=template,
            number=1,
            status=RichTemplateVersion.Status.APPROVED,
            background="rich/x.png",
            background_sha256="0" * 64,
            width=1040,
            height=1040,
            buttons=list(BUTTONS),
            title_area={"x": 0, "y": 0, "width": 10, "height": 10},
            body_area={"x": 0, "y": 20, "width": 10, "height": 10},
        )
        messages.append(
            RichMessage.objects.create(
                template_version=version,
                language="th",
                title=f"Bench {n}",
                body="Bench",
                flex={"type": "flex"},
                copy_source="given",
                image="rich/composed/x.png",
                image_sha256="1" * 64,
            )
        )
    return messages


def _campaigns(count: int, messages: list[RichMessage]) -> list[Campaign]:
    campaigns = list(Campaign.objects.order_by("pk")[:count])
    for n in range(len(campaigns), count):
        message = messages[n % len(messages)]
        campaign = Campaign.objects.create(
            name=f"Bench campaign {n}",
            rich_message=message,
            holdout_percent=5,
            status="completed",
            audience={"type": "all_followers"},
        )
        if n % 3 == 0:
            CampaignVariant.objects.bulk_create(
                [CampaignVariant(campaign=campaign, name=name, rich_message=message) for name in ("A", "B")]
            )
        campaigns.append(campaign)
    return campaigns


def _ts(moment: datetime) -> str:
    return moment.isoformat()


def _rows(events: int, users: list[int], campaigns: list[Campaign], messages: dict[int, RichMessage]):
    """Text COPY lines of ``events`` events, campaign by campaign."""
    per_campaign = {kind: max(1, round(events * share / len(campaigns))) for kind, share in SHARES.items()}
    for index, campaign in enumerate(campaigns):
        message = messages[campaign.rich_message_id]
        version = message.template_version_id
        sent = START + timedelta(days=index % DAYS, hours=random.randrange(1, 12))
        start = random.randrange(len(users) - per_campaign["delivered"] - per_campaign["holdout"])
        reached = users[start : start + per_campaign["delivered"]]
        held = users[start + len(reached) : start + len(reached) + per_campaign["holdout"]]
        ab = index % 3 == 0
        c = campaign.pk
        for n, user in enumerate(reached):
            variant = ("A" if n % 2 else "B") if ab else ""
            yield f"{_ts(sent)}\tdelivered\t{user}\t{c}\t{variant}\t{message.pk}\t{version}\t\t{{}}\n"
        for user in held:
            yield f"{_ts(sent)}\tholdout\t{user}\t{c}\t\t\\N\t\\N\t\t{{}}\n"
        for kind in ("postback", "link_click", "unfollow"):
            for _ in range(per_campaign[kind]):
                n = random.randrange(len(reached))
                variant = ("A" if n % 2 else "B") if ab else ""
                when = _ts(sent + timedelta(seconds=random.randrange(1, 86400)))
                if kind == "unfollow":
                    yield f"{when}\tunfollow\t{reached[n]}\t\\N\t\t\\N\t\\N\t\t{{}}\n"
                else:
                    button = random.choice(BUTTONS) if kind == "postback" else ""
                    yield f"{when}\t{kind}\t{reached[n]}\t{c}\t{variant}\t{message.pk}\t{version}\t{button}\t{{}}\n"
        for kind in ("message", "follow", "richmenu_tap"):
            for _ in range(per_campaign[kind]):
                when = _ts(START + timedelta(seconds=random.randrange(DAYS * 86400)))
                button = "menu" if kind == "richmenu_tap" else ""
                yield f"{when}\t{kind}\t{random.choice(users)}\t\\N\t\t\\N\t\\N\t{button}\t{{}}\n"


def load(args) -> None:
    random.seed(args.seed)
    users = _users()
    messages = _content()
    campaigns = _campaigns(args.campaigns, messages)
    by_pk = {message.pk: message for message in messages}
    say(step="content", users=len(users), templates=len(messages), campaigns=len(campaigns))
    if Event.objects.exists():
        say(step="load", skipped="events already loaded", events=Event.objects.count())
        return
    started = time.monotonic()
    written = 0
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY analytics_event ({', '.join(COLUMNS)}) FROM STDIN") as copy,
    ):
        buffer = io.StringIO()
        for line in _rows(args.events, users, campaigns, by_pk):
            buffer.write(line)
            written += 1
            if written % 50_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
            if written % 1_000_000 == 0:
                say(step="load", events=written, seconds=round(time.monotonic() - started, 1))
        copy.write(buffer.getvalue())
    seconds = time.monotonic() - started
    say(step="load", events=written, seconds=round(seconds, 1), events_per_second=round(written / seconds))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE analytics_event")
    _service_inserts(users, campaigns[0])


def _service_inserts(users: list[int], campaign: Campaign) -> None:
    sample = users[:100_000]
    started = time.monotonic()
    events_record_bulk(
        type="delivered",
        line_user_ids=sample,
        occurred_at=START,
        campaign_id=campaign.pk,
        rich_message_id=campaign.rich_message_id,
    )
    bulk = time.monotonic() - started
    people = list(LineUser.objects.filter(pk__in=users[:2000]))
    started = time.monotonic()
    for user in people:
        event_record(type="message", line_user=user, occurred_at=START + timedelta(days=1))
    single = time.monotonic() - started
    say(
        step="service_inserts",
        bulk_events=len(sample),
        bulk_per_second=round(len(sample) / bulk),
        single_events=len(people),
        single_per_second=round(len(people) / single),
        single_ms_p50=round(single / len(people) * 1000, 2),
    )


def _client() -> APIClient:
    """A signed-in API client; the API's per-credential rate limit is raised out of the way (a setting of the
    benchmark's own database), since the point is the endpoint's own time."""
    RuntimeSetting.objects.update_or_create(key="ratelimit.api_requests_per_minute", defaults={"value": 10_000})
    user, _ = get_user_model().objects.get_or_create(username="bench-analyst", defaults={"is_superuser": True})
    client = APIClient(HTTP_HOST="localhost")
    client.force_authenticate(user=user)
    return client


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _latencies(client: APIClient, paths: list[str]) -> dict:
    times = []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
    return {
        "requests": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(_percentile(times, 0.95), 1),
        "max_ms": round(max(times), 1),
    }


def measure(args) -> None:
    events = Event.objects.count()
    first = Event.objects.order_by("occurred_at").values_list("occurred_at", flat=True).first()
    last = Event.objects.order_by("-occurred_at").values_list("occurred_at", flat=True).first()
    zone = rollups.report_zone()
    if not args.skip_rollup:
        DailyRollup.objects.all().delete()
        started = time.monotonic()
        rows = rollups.rollups_recompute(start=first.astimezone(zone).date(), end=last.astimezone(zone).date())
        full = time.monotonic() - started
        top = Event.objects.order_by("-id").values_list("id", flat=True).first()
        RollupState.objects.update_or_create(pk=1, defaults={"last_event_id": top})
        say(
            step="rollup_full", events=events, rows=rows, seconds=round(full, 1), events_per_second=round(events / full)
        )
        # What the beat task does every five minutes: 10,000 new events of one campaign on the last day.
        users = list(LineUser.objects.order_by("pk").values_list("pk", flat=True)[:10_000])
        campaign = Campaign.objects.order_by("pk").first()
        events_record_bulk(
            type="postback",
            line_user_ids=users,
            occurred_at=last - timedelta(hours=1),
            campaign_id=campaign.pk,
            rich_message_id=campaign.rich_message_id,
        )
        started = time.monotonic()
        result = rollups.rollups_update()
        say(
            step="rollup_incremental",
            new_events=len(users),
            days=result["days"],
            rows=result["rows"],
            seconds=round(time.monotonic() - started, 2),
        )
    client = _client()
    campaigns = list(Campaign.objects.values_list("pk", flat=True))
    templates = list(RichTemplate.objects.values_list("pk", flat=True))
    random.seed(args.seed)
    _latencies(client, [f"/api/v1/analytics/campaigns/{pk}" for pk in campaigns[:20]])  # warm-up
    say(
        step="campaign_endpoint",
        **_latencies(client, [f"/api/v1/analytics/campaigns/{random.choice(campaigns)}" for _ in range(args.requests)]),
    )
    say(
        step="template_endpoint",
        **_latencies(client, [f"/api/v1/analytics/templates/{random.choice(templates)}" for _ in range(args.requests)]),
    )
    say(
        step="events_page",
        **_latencies(
            client, [f"/api/v1/analytics/events?campaign={random.choice(campaigns)}&limit=100" for _ in range(50)]
        ),
    )


def export(args) -> None:
    """One CSV export of the newest ``--rows`` events through the API, in this process: time and peak RSS."""
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    since = Event.objects.order_by("-occurred_at").values_list("occurred_at", flat=True)[args.rows - 1]
    client = _client()
    started = time.monotonic()
    response = client.get("/api/v1/analytics/events", {"format": "csv", "since": since.isoformat()})
    lines = size = 0
    for piece in response.streaming_content:
        size += len(piece)
        lines += piece.count(b"\n")
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    say(
        step="csv_export",
        rows=lines - 1,
        megabytes=round(size / 1e6, 1),
        seconds=round(seconds, 1),
        rows_per_second=round((lines - 1) / seconds),
        peak_rss_mb=round(peak),
        rss_before_mb=round(baseline),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["load", "measure", "export"])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--campaigns", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--skip-rollup", action="store_true")
    args = parser.parse_args(argv)
    if connection.vendor != "postgresql":
        sys.exit("the analytics benchmark needs PostgreSQL (DATABASE_URL)")
    {"load": load, "measure": measure, "export": export}[args.step](args)


if __name__ == "__main__":
    main()
