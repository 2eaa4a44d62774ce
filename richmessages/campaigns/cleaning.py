"""Checking what people give for a campaign, field by field, before anything is stored.

:func:`clean` returns model field values and the variants (or None when they are not being set), or raises
one ValidationError naming every bad field. Rules that tie fields together are checked on the result merged
with the campaign's current values, so an edit of one field cannot leave the campaign inconsistent.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django.utils import timezone

from core.errors import ValidationError
from richmessages.campaigns import audiences, schedules
from richmessages.campaigns.audiences import Problems
from richmessages.campaigns.models import Campaign, CampaignVariant

NAME_MAX_CHARS = 200
MAX_VARIANTS = 5
MAX_HOLDOUT = 50
MAX_CAP = 100
STEP_DAYS = (1, 30)
FIELDS = (
    "name",
    "rich_message",
    "variants",
    "audience",
    "holdout_percent",
    "send_at",
    "recurrence",
    "timezone",
    "local_time",
    "step_days",
    "frequency_cap_day",
    "frequency_cap_week",
    "cooldown",
    "quiet_hours_start",
    "quiet_hours_end",
)


def rich_message_model():
    # richmessages.models imports this package; reaching RichMessage through the relation avoids a cycle.
    return CampaignVariant._meta.get_field("rich_message").related_model


def _rich_message(problems: Problems, field: str, value: Any):
    model = rich_message_model()
    if isinstance(value, model):
        return value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        problems.add(field, "must be the id of a rich message")
        return None
    found = model.objects.filter(pk=value).first()
    if found is None:
        problems.add(field, f"there is no rich message {value}")
    return found


def _int(problems: Problems, field: str, value: Any, low: int, high: int, *, optional: bool = True) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.add(field, f"must be a whole number from {low} to {high}" + (" or null" if optional else ""))
        return None
    return value


def _bool(problems: Problems, field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        problems.add(field, "must be true or false")
        return False
    return value


def _time(problems: Problems, field: str, value: Any) -> time | None:
    if value is None or isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            return time.fromisoformat(value)
        except ValueError:
            pass
    problems.add(field, "must be a time of day such as 22:00, or null")
    return None


def _moment(problems: Problems, field: str, value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            value = None
    if not isinstance(value, datetime):
        problems.add(field, "must be an ISO 8601 date-time with its offset, or null")
        return None
    if timezone.is_naive(value):
        problems.add(field, "needs a time zone offset (e.g. 2030-01-01T09:00:00+07:00)")
        return None
    return value


def _variants(problems: Problems, value: Any) -> list[dict] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not 2 <= len(value) <= MAX_VARIANTS:
        problems.add("variants", f"must be a list of 2 to {MAX_VARIANTS} variants, or null")
        return None
    cleaned, names = [], set()
    for index, item in enumerate(value):
        where = f"variants[{index}]"
        if not isinstance(item, dict):
            problems.add(where, "must be an object with name, rich_message and weight")
            continue
        name = item.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > 32:
            problems.add(f"{where}.name", "must be 1 to 32 characters")
            continue
        name = name.strip()
        if name in names:
            problems.add(f"{where}.name", f"{name!r} is used twice")
        names.add(name)
        message = _rich_message(problems, f"{where}.rich_message", item.get("rich_message"))
        weight = _int(problems, f"{where}.weight", item.get("weight", 1), 1, 100, optional=False)
        cleaned.append({"name": name, "rich_message": message, "weight": weight})
    return cleaned


def _single(problems: Problems, values: dict) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "name" in values:
        name = values["name"]
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > NAME_MAX_CHARS or "\x00" in name:
            problems.add("name", f"must be 1 to {NAME_MAX_CHARS} characters of text")
        else:
            fields["name"] = name.strip()
    if "rich_message" in values:
        fields["rich_message"] = (
            None if values["rich_message"] is None else _rich_message(problems, "rich_message", values["rich_message"])
        )
    if "audience" in values:
        try:
            fields["audience"] = audiences.validate(values["audience"])
        except ValidationError as exc:
            for field, messages in (exc.details or {}).items():
                for message in messages:
                    problems.add(field, message)
    if "holdout_percent" in values:
        fields["holdout_percent"] = _int(
            problems, "holdout_percent", values["holdout_percent"], 0, MAX_HOLDOUT, optional=False
        )
    if "send_at" in values:
        fields["send_at"] = _moment(problems, "send_at", values["send_at"])
    if "recurrence" in values:
        recurrence = values["recurrence"]
        if recurrence is not None and not isinstance(recurrence, str):
            problems.add("recurrence", "must be an RRULE string, or null")
        fields["recurrence"] = (recurrence or "").strip() if isinstance(recurrence, str | type(None)) else ""
    if "timezone" in values:
        try:
            schedules.zone(values["timezone"])
            fields["timezone"] = values["timezone"]
        except ValidationError as exc:
            problems.add("timezone", exc.details["timezone"][0])
    for flag in ("local_time", "cooldown"):
        if flag in values:
            fields[flag] = _bool(problems, flag, values[flag])
    if "step_days" in values:
        fields["step_days"] = _int(problems, "step_days", values["step_days"], *STEP_DAYS)
    for cap in ("frequency_cap_day", "frequency_cap_week"):
        if cap in values:
            fields[cap] = _int(problems, cap, values[cap], 1, MAX_CAP)
    for bound in ("quiet_hours_start", "quiet_hours_end"):
        if bound in values:
            fields[bound] = _time(problems, bound, values[bound])
    return fields


def current_values(campaign: Campaign) -> dict[str, Any]:
    values = {name: getattr(campaign, name) for name in FIELDS if name not in ("variants", "rich_message")}
    values["rich_message"] = campaign.rich_message_id
    values["variants"] = [(v.name, v.rich_message_id, v.weight) for v in campaign.variants.all()] if campaign.pk else []
    for name in ("send_at", "quiet_hours_start", "quiet_hours_end"):
        values[name] = values[name].isoformat() if values[name] else None
    return values


def _together(problems: Problems, merged: dict[str, Any], variants: list | None) -> None:
    has_variants = bool(variants)
    if has_variants == bool(merged.get("rich_message")):
        problems.add("rich_message", "give either one rich message or variants, not both or neither")
    audience = merged.get("audience") or {}
    if not audience:
        problems.add("audience", "is required")
    if (merged.get("quiet_hours_start") is None) != (merged.get("quiet_hours_end") is None):
        problems.add("quiet_hours_end", "give both ends of the quiet hours, or neither")
    elif merged.get("quiet_hours_start") is not None and merged["quiet_hours_start"] == merged["quiet_hours_end"]:
        problems.add("quiet_hours_end", "must differ from quiet_hours_start")
    day, week = merged.get("frequency_cap_day"), merged.get("frequency_cap_week")
    if day and week and day > week:
        problems.add("frequency_cap_week", "must be at least the daily cap")
    if merged.get("step_days") is not None:
        for field in ("send_at", "recurrence", "local_time"):
            if merged.get(field):
                problems.add(field, "a step message is sent N days after each follow; it has no schedule of its own")
        if audience and audience.get("type") != audiences.ALL_FOLLOWERS:
            problems.add("audience", "a step message goes to each new follower: use all_followers")
    if merged.get("recurrence") and "timezone" not in problems.fields:
        tz = schedules.zone(merged.get("timezone") or "UTC")
        start = merged.get("send_at") or timezone.now()
        try:
            schedules.parse_recurrence(merged["recurrence"], start_wall=schedules.wall(start, tz))
        except ValidationError as exc:
            problems.add("recurrence", exc.details["recurrence"][0])
    if audiences.uses_line_targeting(audience):
        for field in ("holdout_percent", "frequency_cap_day", "frequency_cap_week", "quiet_hours_start", "local_time"):
            if merged.get(field):
                problems.add(field, "LINE chooses a narrowcast's recipients: per-user guards cannot apply")
        if has_variants:
            problems.add("variants", "a narrowcast sends one message to everyone it reaches")
        if merged.get("step_days") is not None:
            problems.add("step_days", "a step message cannot be a narrowcast")


def clean(values: dict[str, Any], *, base: Campaign | None) -> tuple[dict[str, Any], list[dict] | None]:
    """Model field values and variants (None: unchanged) from ``values``; ValidationError if any is bad."""
    if not isinstance(values, dict):
        raise ValidationError("The campaign is not valid.", details={"campaign": ["must be an object"]})
    problems = Problems()
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        problems.add("campaign", f"unknown fields: {', '.join(unknown)}")
    if base is None and "name" not in values:
        problems.add("name", "is required")
    fields = _single(problems, values)
    variants = None
    if "variants" in values:
        variants = [] if values["variants"] is None else (_variants(problems, values["variants"]) or [])
    merged = {name: getattr(base, name) for name in FIELDS if name != "variants"} if base else {}
    merged.update(fields)
    current_variants = list(base.variants.all()) if base is not None and base.pk else []
    # Giving one kind of content replaces the other.
    if variants and "rich_message" not in values:
        fields["rich_message"] = merged["rich_message"] = None
    if fields.get("rich_message") and "variants" not in values and current_variants:
        variants = []
    _together(problems, merged, variants if variants is not None else current_variants)
    if isinstance(fields.get("audience"), dict) and fields["audience"].get("type") == audiences.USERS:
        fields["audience_report"] = audiences.users_report(fields["audience"]["line_user_ids"])
    elif "audience" in fields:
        fields["audience_report"] = {}
    problems.raise_if_any()
    return fields, variants
