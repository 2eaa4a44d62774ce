"""Who a campaign reaches. An audience is a JSON object, validated and normalised here:

* ``{"type": "all_followers"}``: every active follower (a LINE broadcast when nothing needs per-user care);
* ``{"type": "segment", "language": [...], "followed_after": date, "followed_before": date,
  "active_within_days": n, "tags": [...], "engaged_with_campaign": id, "engaged": bool}``: evaluated in our
  database, every given condition must hold;
* ``{"type": "users", "line_user_ids": [...]}``: an uploaded list; ids we don't know or that no longer
  follow are reported (``Campaign.audience_report``) and skipped;
* ``{"type": "narrowcast", "audience_group_ids": [...], "exclude_audience_group_ids": [...],
  "demographic": {...}, "limit": n}``: LINE chooses the recipients (LINE audiences, demographic filters).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from analytics.models import Event
from conversations.models import LineUser
from core.errors import ValidationError

ALL_FOLLOWERS, SEGMENT, USERS, NARROWCAST = "all_followers", "segment", "users", "narrowcast"
TYPES = (ALL_FOLLOWERS, SEGMENT, USERS, NARROWCAST)
MAX_UPLOADED_IDS = 100_000
MAX_TAGS = 50
LINE_USER_ID = re.compile(r"^U[0-9a-f]{32}$")
# What counts as engaging with a campaign: the user acted on it, not merely received it.
ENGAGEMENT_TYPES = (Event.Type.POSTBACK, Event.Type.LINK_CLICK, Event.Type.RICHMENU_TAP)
_DEMOGRAPHIC_ENUMS = {
    "gender": {"male", "female"},
    "appType": {"ios", "android"},
}
# LINE's bounds of an age or subscriptionPeriod filter, in order (a "gte" must come before its "lt").
AGES = tuple(f"age_{n}" for n in range(15, 75, 5))
SUBSCRIPTION_PERIODS = ("day_7", "day_30", "day_90", "day_180", "day_365")
_AREA = re.compile(r"^[a-z]{2}_\d{2}$")
_SEGMENT_KEYS = {
    "type",
    "language",
    "followed_after",
    "followed_before",
    "active_within_days",
    "tags",
    "engaged_with_campaign",
    "engaged",
}


class Problems:
    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.fields.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationError("The audience is not valid.", details=self.fields)


def _moment(problems: Problems, field: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
            zone = timezone.get_current_timezone()
            # Kept in the project's zone: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 allows, and
            # the console shows a date given alone as that same date.
            local = timezone.make_aware(parsed, zone) if timezone.is_naive(parsed) else parsed.astimezone(zone)
            return local.isoformat()
        except (ValueError, OverflowError):
            pass
    problems.add(f"audience.{field}", "must be an ISO 8601 date or date-time")
    return None


def _strings(problems: Problems, field: str, value: Any, *, limit: int, pattern: re.Pattern | None = None) -> list:
    # PostgreSQL's JSON cannot store a NUL character: refused here, not failed at the database.
    if not isinstance(value, list) or not all(isinstance(i, str) and i.strip() and "\x00" not in i for i in value):
        problems.add(f"audience.{field}", "must be a list of non-empty strings")
        return []
    if len(value) > limit:
        problems.add(f"audience.{field}", f"must have at most {limit} entries")
        return []
    cleaned = [item.strip() for item in value]
    if pattern is not None:
        bad = [item for item in cleaned if not pattern.match(item)]
        if bad:
            problems.add(f"audience.{field}", f"not valid: {', '.join(bad[:5])}")
    return sorted(set(cleaned), key=cleaned.index)


def _positive_int(problems: Problems, field: str, value: Any, *, maximum: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        problems.add(f"audience.{field}", f"must be a whole number from 1 to {maximum}")
        return None
    return value


def _demographic(problems: Problems, value: Any, path: str = "demographic", depth: int = 0) -> None:
    where = f"audience.{path}"
    if depth > 5 or not isinstance(value, dict):
        problems.add(where, "must be a LINE demographic filter object (at most 5 levels deep)")
        return
    kind = value.get("type")
    if kind == "operator":
        parts = [key for key in ("and", "or", "not") if key in value]
        if len(parts) != 1:
            problems.add(where, "an operator needs exactly one of and, or, not")
            return
        inner = value[parts[0]]
        items = [inner] if parts[0] == "not" else inner
        if not isinstance(items, list) or not items:
            problems.add(where, f"{parts[0]} must be a non-empty list")
            return
        for index, item in enumerate(items):
            _demographic(problems, item, f"{path}.{parts[0]}[{index}]", depth + 1)
    elif kind in _DEMOGRAPHIC_ENUMS or kind == "area":
        choices = value.get("oneOf")
        valid = _DEMOGRAPHIC_ENUMS.get(kind)
        if (
            not isinstance(choices, list)
            or not choices
            or not all(isinstance(c, str) and (c in valid if valid else bool(_AREA.match(c))) for c in choices)
        ):
            problems.add(
                where,
                f"{kind} needs oneOf, a list of "
                + (", ".join(sorted(valid)) if valid else "LINE area codes such as jp_13 or th_01"),
            )
    elif kind in ("age", "subscriptionPeriod"):
        allowed = AGES if kind == "age" else SUBSCRIPTION_PERIODS
        bounds = [value.get(key) for key in ("gte", "lt") if key in value]
        if not bounds or not all(isinstance(bound, str) and bound in allowed for bound in bounds):
            problems.add(where, f"{kind} needs gte and/or lt, each one of {', '.join(allowed)}")
        elif len(bounds) == 2 and allowed.index(bounds[0]) >= allowed.index(bounds[1]):
            # LINE would match nobody: refused here rather than sent for LINE to refuse.
            problems.add(where, f"{kind}'s gte ({bounds[0]}) must be below its lt ({bounds[1]})")
    else:
        problems.add(where, "type must be age, appType, area, gender, subscriptionPeriod or operator")


def _group_ids(problems: Problems, field: str, value: Any) -> list[int]:
    if value is None:
        return []
    if (
        not isinstance(value, list)
        or len(value) > 10
        or not all(isinstance(item, int) and not isinstance(item, bool) and item > 0 for item in value)
    ):
        problems.add(f"audience.{field}", "must be a list of at most 10 LINE audience ids")
        return []
    return list(dict.fromkeys(value))


def validate(audience: Any) -> dict:
    """The normalised audience; ValidationError naming each bad field (as ``audience.<field>``)."""
    problems = Problems()
    if not isinstance(audience, dict):
        raise ValidationError("The audience is not valid.", details={"audience": ["must be an object with a type"]})
    kind = audience.get("type")
    if kind not in TYPES:
        raise ValidationError("The audience is not valid.", details={"audience.type": [f"must be one of {TYPES}"]})
    if kind == ALL_FOLLOWERS:
        return {"type": kind}
    if kind == USERS:
        ids = _strings(problems, "line_user_ids", audience.get("line_user_ids"), limit=MAX_UPLOADED_IDS)
        bad = [value for value in ids if not LINE_USER_ID.match(value)]
        if bad:
            problems.add("audience.line_user_ids", f"not LINE user ids: {', '.join(bad[:5])}")
        if not ids and "audience.line_user_ids" not in problems.fields:
            problems.add("audience.line_user_ids", "must name at least one user")
        problems.raise_if_any()
        return {"type": kind, "line_user_ids": ids}
    if kind == NARROWCAST:
        include = _group_ids(problems, "audience_group_ids", audience.get("audience_group_ids"))
        exclude = _group_ids(problems, "exclude_audience_group_ids", audience.get("exclude_audience_group_ids"))
        demographic = audience.get("demographic")
        if demographic is not None:
            _demographic(problems, demographic)
        limit = _positive_int(problems, "limit", audience.get("limit"), maximum=2_000_000_000)
        problems.raise_if_any()
        result: dict[str, Any] = {"type": kind, "audience_group_ids": include, "exclude_audience_group_ids": exclude}
        if demographic is not None:
            result["demographic"] = demographic
        if limit is not None:
            result["limit"] = limit
        return result
    unknown = sorted(set(audience) - _SEGMENT_KEYS)
    if unknown:
        problems.add("audience", f"unknown segment conditions: {', '.join(unknown)}")
    result = {"type": SEGMENT}
    if "language" in audience:
        result["language"] = [code.lower() for code in _strings(problems, "language", audience["language"], limit=20)]
    for field in ("followed_after", "followed_before"):
        if field in audience:
            result[field] = _moment(problems, field, audience[field])
    if "active_within_days" in audience:
        result["active_within_days"] = _positive_int(
            problems, "active_within_days", audience["active_within_days"], maximum=3650
        )
    if "tags" in audience:
        result["tags"] = _strings(problems, "tags", audience["tags"], limit=MAX_TAGS)
    if "engaged_with_campaign" in audience:
        result["engaged_with_campaign"] = _positive_int(
            problems, "engaged_with_campaign", audience["engaged_with_campaign"], maximum=2**62
        )
        engaged = audience.get("engaged", True)
        if not isinstance(engaged, bool):
            problems.add("audience.engaged", "must be true or false")
        result["engaged"] = engaged
    elif "engaged" in audience:
        problems.add("audience.engaged", "needs engaged_with_campaign")
    problems.raise_if_any()
    return result


def uses_line_targeting(audience: dict) -> bool:
    return audience.get("type") == NARROWCAST


def _language_q(codes: list[str]) -> Q:
    condition = Q()
    for code in codes:
        condition |= Q(language__iexact=code) | Q(language__istartswith=f"{code}-")
    return condition


def _tags_q(tags: list[str]) -> Q:
    condition = Q()
    for tag in tags:
        if connection.vendor == "postgresql":
            condition |= Q(tags__contains=[tag])
        else:
            # SQLite has no JSON containment: match the quoted element in the stored text.
            condition |= Q(tags__icontains=f'"{tag}"')
    return condition


def candidates(audience: dict) -> QuerySet[LineUser]:
    """The users a (non-narrowcast) audience names, before any guard. Ordered by pk for keyset paging."""
    kind = audience.get("type")
    users = LineUser.objects.all()
    if kind == USERS:
        users = users.filter(line_user_id__in=audience["line_user_ids"])
    elif kind == ALL_FOLLOWERS:
        users = users.filter(status=LineUser.Status.ACTIVE)
    elif kind == SEGMENT:
        users = users.filter(status=LineUser.Status.ACTIVE)
        if audience.get("language"):
            users = users.filter(_language_q(audience["language"]))
        if audience.get("followed_after"):
            users = users.filter(followed_at__gte=datetime.fromisoformat(audience["followed_after"]))
        if audience.get("followed_before"):
            users = users.filter(followed_at__lt=datetime.fromisoformat(audience["followed_before"]))
        if audience.get("active_within_days"):
            users = users.filter(last_seen_at__gte=timezone.now() - timedelta(days=audience["active_within_days"]))
        if audience.get("tags"):
            users = users.filter(_tags_q(audience["tags"]))
        if audience.get("engaged_with_campaign"):
            engaged = Exists(
                Event.objects.filter(
                    line_user=OuterRef("pk"),
                    campaign_id=audience["engaged_with_campaign"],
                    type__in=ENGAGEMENT_TYPES,
                )
            )
            users = users.filter(engaged) if audience.get("engaged", True) else users.exclude(engaged)
    else:
        raise ValueError(f"no candidates for a {kind} audience: LINE chooses them")
    return users.order_by("pk")


def users_report(line_user_ids: list[str]) -> dict:
    """For an uploaded list: which ids we don't know, and which no longer follow (both skipped)."""
    known = dict(LineUser.objects.filter(line_user_id__in=line_user_ids).values_list("line_user_id", "status"))
    unknown = [value for value in line_user_ids if value not in known]
    unfollowed = [value for value, status in known.items() if status != LineUser.Status.ACTIVE]
    return {
        "uploaded": len(line_user_ids),
        "unknown": unknown[:1000],
        "unknown_count": len(unknown),
        "unfollowed": sorted(unfollowed)[:1000],
        "unfollowed_count": len(unfollowed),
    }


def parse_csv(data: bytes) -> list[str]:
    """LINE user ids from a CSV (one a row, first column; a header row is allowed). ValidationError if bad."""
    if len(data) > MAX_UPLOADED_IDS * 40:
        raise ValidationError("The file is too large.", details={"file": [f"at most {MAX_UPLOADED_IDS} ids"]})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text.", details={"file": ["must be a UTF-8 CSV file"]}) from None
    ids, bad = [], []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        value = row[0].strip() if row else ""
        if not value:
            continue
        if LINE_USER_ID.match(value):
            ids.append(value)
        elif number > 1 or not value.isascii() or value.startswith("U"):
            bad.append(f"row {number}: {value[:40]}")
    if bad:
        raise ValidationError("Some rows are not LINE user ids.", details={"file": bad[:20]})
    if not ids:
        raise ValidationError("The file names no LINE user id.", details={"file": ["no LINE user id found"]})
    if len(ids) > MAX_UPLOADED_IDS:
        raise ValidationError("Too many ids.", details={"file": [f"at most {MAX_UPLOADED_IDS} ids"]})
    return list(dict.fromkeys(ids))


def line_recipient(audience: dict, *, exclude_group_ids: list[int] = ()) -> dict | None:
    """LINE's recipient object for a narrowcast audience (None: every follower)."""
    include = [{"type": "audience", "audienceGroupId": group} for group in audience.get("audience_group_ids", [])]
    exclude = [
        {"type": "audience", "audienceGroupId": group}
        for group in [*audience.get("exclude_audience_group_ids", []), *exclude_group_ids]
    ]
    parts: list[dict] = []
    if include:
        parts.append(include[0] if len(include) == 1 else {"type": "operator", "or": include})
    if exclude:
        excluded = exclude[0] if len(exclude) == 1 else {"type": "operator", "or": exclude}
        parts.append({"type": "operator", "not": excluded})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"type": "operator", "and": parts}
