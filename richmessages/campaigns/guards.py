"""Who of a batch of users is sent to now, skipped (and why), or held until when.

In order, the first that applies decides: unfollowed, opted out, holdout, daily and weekly frequency caps,
cooldown since the last campaign message, then holds: the local send time not come yet (``local_time``) and
quiet hours in the recipient's zone (held until the window ends, then released, never dropped).

Caps and the cooldown count campaign messages actually sent (``CampaignRecipient`` rows with status sent) in
rolling windows: the last 24 hours, the last 7 days, the last ``richmessages.cooldown_minutes``. The
holdout and the A/B variant are functions of the campaign id and the user id alone, so a rerun, a resumed
send or an analyst recomputing them gets the same answer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q

from conversations.models import LineUser
from core import config
from richmessages.campaigns import schedules
from richmessages.campaigns.models import Campaign, CampaignRecipient, CampaignSend

Reason = CampaignRecipient.Reason
Status = CampaignRecipient.Status
# What each candidate row carries: pk, status, opted_out_at, timezone.
USER_FIELDS = ("pk", "status", "opted_out_at", "timezone")
HOLDOUT_BUCKETS = 10_000


def _bucket(*parts: object, buckets: int) -> int:
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") % buckets


def in_holdout(campaign_id: int, line_user_pk: int, percent: int) -> bool:
    """Deterministic per campaign and user: the same users are held out however often it is asked."""
    return percent > 0 and _bucket(campaign_id, line_user_pk, buckets=HOLDOUT_BUCKETS) < percent * 100


def variant_for(campaign_id: int, line_user_pk: int, variants: list[tuple[str, int]]) -> str:
    """The A/B arm of a user, by weight; ``variants`` is [(name, weight), ...] in a fixed order."""
    if not variants:
        return ""
    total = sum(weight for _, weight in variants)
    point = _bucket(campaign_id, line_user_pk, "variant", buckets=total)
    for name, weight in variants:
        if point < weight:
            return name
        point -= weight
    return variants[-1][0]  # pragma: no cover - the weights add up to total


@dataclass(frozen=True)
class Decision:
    line_user_pk: int
    status: str
    reason: str = ""
    variant: str = ""
    release_at: datetime | None = None


@dataclass
class Rules:
    """A campaign's guards, read once per batch."""

    campaign_id: int
    holdout_percent: int
    variants: list[tuple[str, int]]
    cap_day: int | None
    cap_week: int | None
    cooldown: timedelta | None
    quiet: tuple | None
    tz: object
    local_wall: datetime | None

    @classmethod
    def of(cls, campaign: Campaign, send: CampaignSend | None) -> Rules:
        tz = schedules.zone_or_default(campaign.timezone, schedules.zone("UTC"))
        minutes = config.get("richmessages.cooldown_minutes") if campaign.cooldown else 0
        local_wall = None
        if campaign.local_time and send is not None and send.kind == CampaignSend.Kind.SCHEDULED:
            local_wall = schedules.occurrence_wall(send.due_at, tz=tz, local_time=True)
        quiet = None
        if campaign.quiet_hours_start is not None and campaign.quiet_hours_end is not None:
            quiet = (campaign.quiet_hours_start, campaign.quiet_hours_end)
        return cls(
            campaign_id=campaign.pk,
            holdout_percent=campaign.holdout_percent,
            variants=[(v.name, v.weight) for v in campaign.variants.order_by("name")],
            cap_day=campaign.frequency_cap_day,
            cap_week=campaign.frequency_cap_week,
            cooldown=timedelta(minutes=minutes) if minutes else None,
            quiet=quiet,
            tz=tz,
            local_wall=local_wall,
        )

    @property
    def needs_history(self) -> bool:
        return bool(self.cap_day or self.cap_week or self.cooldown)

    @property
    def per_user(self) -> bool:
        """Whether anything may treat two followers differently (else a broadcast would do)."""
        return bool(self.holdout_percent or self.variants or self.needs_history or self.quiet or self.local_wall)


def _history(user_pks: list[int], now: datetime, rules: Rules) -> dict[int, tuple[int, int, datetime | None]]:
    """Per user: (sent in the last day, sent in the last week, last sent) — one query per batch."""
    if not rules.needs_history or not user_pks:
        return {}
    since = now - max(timedelta(days=7), rules.cooldown or timedelta())
    low, high = min(user_pks), max(user_pks)
    if high - low < 2 * len(user_pks):
        # A dense batch (a part of a send walks the audience by pk): a range of the index, rather than an IN
        # list of thousands of parameters to build, bind and parse; the few users in it but not in the batch
        # are looked up for nothing.
        users = {"line_user_id__gte": low, "line_user_id__lte": high}
    else:
        users = {"line_user_id__in": user_pks}
    rows = (
        CampaignRecipient.objects.filter(**users, status=Status.SENT, sent_at__gte=since)
        .values("line_user_id")
        .annotate(
            day=Count("id", filter=Q(sent_at__gte=now - timedelta(days=1))),
            week=Count("id", filter=Q(sent_at__gte=now - timedelta(days=7))),
            last=Max("sent_at"),
        )
    )
    return {row["line_user_id"]: (row["day"], row["week"], row["last"]) for row in rows}


def evaluate(
    rows: list[tuple], rules: Rules, *, now: datetime, releasing: dict[int, str] | None = None
) -> list[Decision]:
    """One decision per row (pk, status, opted_out_at, timezone).

    ``releasing`` maps the pks of held recipients being released to their variant: they keep it, are not
    drawn for the holdout again and are past their local send time.
    """
    history = _history([row[0] for row in rows], now, rules)
    decisions = []
    for pk, status, opted_out_at, user_tz in rows:
        variant = releasing.get(pk, "") if releasing is not None else ""
        if status != LineUser.Status.ACTIVE:
            decisions.append(Decision(pk, Status.SKIPPED, Reason.UNFOLLOWED, variant))
            continue
        if opted_out_at is not None:
            decisions.append(Decision(pk, Status.SKIPPED, Reason.OPTED_OUT, variant))
            continue
        if releasing is None:
            if in_holdout(rules.campaign_id, pk, rules.holdout_percent):
                decisions.append(Decision(pk, Status.SKIPPED, Reason.HOLDOUT))
                continue
            variant = variant_for(rules.campaign_id, pk, rules.variants)
        day, week, last = history.get(pk, (0, 0, None))
        if rules.cap_day and day >= rules.cap_day:
            decisions.append(Decision(pk, Status.SKIPPED, Reason.FREQUENCY_DAY, variant))
            continue
        if rules.cap_week and week >= rules.cap_week:
            decisions.append(Decision(pk, Status.SKIPPED, Reason.FREQUENCY_WEEK, variant))
            continue
        if rules.cooldown and last is not None and last > now - rules.cooldown:
            decisions.append(Decision(pk, Status.SKIPPED, Reason.COOLDOWN, variant))
            continue
        tz = schedules.zone_or_default(user_tz, rules.tz)
        if rules.local_wall is not None and releasing is None:
            local_due = schedules.at_wall(rules.local_wall, tz)
            if local_due > now:
                decisions.append(Decision(pk, Status.HELD, Reason.LOCAL_TIME, variant, local_due))
                continue
        if rules.quiet is not None:
            ends = schedules.window_end(now, tz, *rules.quiet)
            if ends is not None:
                decisions.append(Decision(pk, Status.HELD, Reason.QUIET_HOURS, variant, ends))
                continue
        decisions.append(Decision(pk, Status.PENDING, "", variant))
    return decisions
