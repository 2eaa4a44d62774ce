"""Campaign and template measures, read from the rollups (never the raw events), each rate with its denominator.

A rate is ``{"value", "numerator", "numerator_value", "denominator", "denominator_value", "hidden"}``: ``value`` is
None when the denominator is zero (no deliveries: no rate, never 0 %) or a figure behind it is hidden. LINE
withholds figures fewer than 20 users are behind; such a figure is shown as ``{"value": None, "hidden": True}``,
as LINE does, and so is every rate built on it.

- delivered: ours (DELIVERED events) and LINE's (insight snapshots, once synced);
- open rate: LINE's unique impressions over delivered (LINE's delivered when LINE has it, else ours);
- link CTR: unique users clicking a tracked link over delivered (ours), and LINE's unique clicks over LINE's;
- postback engagement rate: unique tappers of the postback buttons over delivered (ours);
- tap share per button: the button's taps over all postback taps;
- block rate: users blocking the account within 24 h of a delivery over delivered (ours);
- lift of a variant over the holdout: its share of users engaging (anything) within 24 h of the send, over the
  holdout's share within 24 h of being left out, minus one.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Sum

from analytics.insight_selectors import line_figures_for_campaign
from analytics.models import DailyRollup, Event

T = Event.Type
ALL = DailyRollup.ALL_BUTTONS
_SUMS = ("events", "new_users", "engaged_24h", "blocked_24h")


def figure(value: int | None, *, hidden: bool = False) -> dict[str, Any]:
    return {"value": value, "hidden": hidden}


def rate(numerator: str, num: int | None, denominator: str, den: int | None, *, hidden: bool = False) -> dict:
    """``hidden``: a figure behind it is one LINE withheld. A figure not known (not synced) or no denominator
    gives no value without being hidden."""
    value = None if hidden or num is None or not den else round(num / den, 6)
    return {
        "value": value,
        "numerator": numerator,
        "numerator_value": None if hidden else num,
        "denominator": denominator,
        "denominator_value": den,
        "hidden": hidden,
    }


def _totals(rows) -> dict[tuple, dict[str, int]]:
    """Sums per (type, variant, button) of the given rollup rows."""
    grouped = rows.values("type", "variant", "button").annotate(**{name: Sum(name) for name in _SUMS}).order_by()
    totals: dict[tuple, dict[str, int]] = {}
    for row in grouped:
        totals[(row["type"], row["variant"], row["button"])] = {name: row[name] or 0 for name in _SUMS}
    return totals


class _Sums:
    def __init__(self, totals: dict[tuple, dict[str, int]], variant: str | None = None):
        self.totals, self.variant = totals, variant

    def get(self, type_: str, field: str, *, button: str | None = "") -> int:
        return sum(
            values[field]
            for (kind, variant, btn), values in self.totals.items()
            if kind == type_
            and (self.variant is None or variant == self.variant)
            and ((button is None and btn != ALL) or btn == button)
        )

    def buttons(self) -> dict[str, dict[str, int]]:
        taps: dict[str, dict[str, int]] = defaultdict(lambda: {"taps": 0, "unique_tappers": 0})
        for (kind, variant, btn), values in self.totals.items():
            if kind == T.POSTBACK and btn != ALL and (self.variant is None or variant == self.variant):
                taps[btn]["taps"] += values["events"]
                taps[btn]["unique_tappers"] += values["new_users"]
        return dict(sorted(taps.items()))


def _engagement(sums: _Sums) -> dict[str, Any]:
    delivered = sums.get(T.DELIVERED, "events")
    unique_tappers = sums.get(T.POSTBACK, "new_users", button=ALL)
    taps = sums.get(T.POSTBACK, "events", button=ALL)
    clickers = sums.get(T.LINK_CLICK, "new_users", button=ALL)
    blocked = sums.get(T.DELIVERED, "blocked_24h")
    by_button = [
        {
            "button": name,
            "taps": values["taps"],
            "unique_tappers": values["unique_tappers"],
            "tap_share": rate(f"taps of {name}", values["taps"], "postback taps", taps),
        }
        for name, values in sums.buttons().items()
    ]
    return {
        "delivered_ours": delivered,
        "unique_tappers": unique_tappers,
        "postback_taps": taps,
        "link_clicks": sums.get(T.LINK_CLICK, "events", button=ALL),
        "unique_link_clickers": clickers,
        "engagement_rate": rate("unique_tappers", unique_tappers, "delivered (ours)", delivered),
        "link_ctr": rate("unique_link_clickers", clickers, "delivered (ours)", delivered),
        "block_rate_24h": rate("blocked within 24 h of a delivery", blocked, "delivered (ours)", delivered),
        "by_button": by_button,
    }


def _lift(sums: _Sums, holdout: dict[str, int]) -> dict[str, Any]:
    delivered = sums.get(T.DELIVERED, "events")
    engaged = sums.get(T.DELIVERED, "engaged_24h")
    arm = rate("engaged within 24 h", engaged, "delivered (ours)", delivered)
    base = rate("engaged within 24 h", holdout["engaged"], "held out", holdout["size"])
    value = None
    if arm["value"] is not None and base["value"]:
        value = round(arm["value"] / base["value"] - 1, 6)
    return {
        "engaged_rate_24h": arm,
        "lift_over_holdout": {
            "value": value,
            "numerator": "engaged within 24 h / delivered (variant)",
            "denominator": "engaged within 24 h / held out (holdout)",
            "hidden": False,
        },
    }


def campaign_report(campaign_id: int, subject: dict[str, Any]) -> dict[str, Any]:
    rows = DailyRollup.objects.filter(campaign_id=campaign_id)
    totals = _totals(rows)
    everyone = _Sums(totals)
    holdout = {
        "size": everyone.get(T.HOLDOUT, "events"),
        "engaged": everyone.get(T.HOLDOUT, "engaged_24h"),
    }
    report = {"campaign": subject, **_engagement(everyone)}
    line = line_figures_for_campaign(campaign_id)
    synced = line["synced_at"] is not None
    ours = report.pop("delivered_ours")
    line_delivered = line["delivered"]
    report["delivered"] = {
        "ours": ours,
        "line": figure(line_delivered, hidden=synced and line_delivered is None),
        "line_synced_at": line["synced_at"],
        "line_final": line["final"],
    }
    open_denominator, open_den = (
        ("delivered (LINE)", line_delivered)
        if line_delivered is not None
        else (
            "delivered (ours)",
            ours,
        )
    )
    impressions = line["unique_impressions"]
    report["unique_impressions"] = figure(impressions, hidden=synced and impressions is None)
    report["open_rate"] = rate(
        "unique_impressions (LINE)", impressions, open_denominator, open_den, hidden=synced and impressions is None
    )
    clicks = line["unique_clicks"]
    report["line_unique_clicks"] = figure(clicks, hidden=synced and clicks is None)
    report["line_ctr"] = rate(
        "unique_clicks (LINE)", clicks, open_denominator, open_den, hidden=synced and clicks is None
    )
    report["holdout"] = {
        "held_out": holdout["size"],
        "engaged_rate_24h": rate("engaged within 24 h", holdout["engaged"], "held out", holdout["size"]),
    }
    variants = sorted({variant for (_, variant, _) in totals} - {""}) or []
    report["variants"] = [{"variant": name, **_variant(_Sums(totals, name), holdout)} for name in variants]
    if not variants and ours:
        report["lift_over_holdout"] = _lift(everyone, holdout)["lift_over_holdout"]
    return report


def _variant(sums: _Sums, holdout: dict[str, int]) -> dict[str, Any]:
    engagement = _engagement(sums)
    engagement["delivered"] = engagement.pop("delivered_ours")
    return {**engagement, **_lift(sums, holdout)}


def template_report(subject: dict[str, Any]) -> dict[str, Any]:
    rows = DailyRollup.objects.filter(template_version_id__in=subject["version_ids"] or [-1])
    report = _engagement(_Sums(_totals(rows)))
    report["delivered"] = {"ours": report.pop("delivered_ours")}
    campaigns = rows.filter(type=T.DELIVERED).exclude(campaign_id=0).values("campaign_id").distinct().count()
    return {"template": subject, "campaigns": campaigns, **report}


def daily_rows(*, campaign_id: int | None = None, version_ids: list[int] | None = None):
    """The rollup rows behind a report, day by day (for tables, charts and CSV)."""
    rows = DailyRollup.objects.all()
    if campaign_id is not None:
        rows = rows.filter(campaign_id=campaign_id)
    if version_ids is not None:
        rows = rows.filter(template_version_id__in=version_ids or [-1])
    return rows.order_by("day", "type", "variant", "button")
