"""Audiences and narrowcast targeting of the LINE double.

Audiences for uploading user ids (``/v2/bot/audienceGroup/upload``) and reading one back
(``/v2/bot/audienceGroup/{audienceGroupId}``), and the evaluation of a narrowcast's ``recipient`` and
``filter.demographic`` objects against the double's followers.

A user's demographics are what the control API gave them (``demographics``: ``gender``, ``age`` in years,
``appType``, ``area``, ``subscriptionDays``); a user without an attribute matches no filter on it, as LINE only
targets users whose attributes it knows.

LINE's minimums, reported the way LINE reports them (the request is accepted, the progress fails):

* an audience of fewer than 50 users in the recipient: ``errorCode`` 4;
* a demographic filter while the channel reaches fewer than 100 followers, or nobody to send to: ``errorCode`` 2.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from linesim.line.app import Call, LineDouble, error, json_response

MIN_AUDIENCE_SIZE = 50
MIN_TARGETED_REACH = 100
_AGES = {f"age_{n}": n for n in range(15, 75, 5)}
_PERIODS = {f"day_{n}": n for n in (7, 30, 90, 180, 365)}


class TargetingError(ValueError):
    """A recipient or filter the double cannot evaluate (LINE answers 400)."""


def _ids_of(recipient: dict[str, Any] | None) -> list[int]:
    """Every audience group id a recipient object names, however deep."""
    if not isinstance(recipient, dict):
        return []
    if recipient.get("type") == "audience":
        return [recipient.get("audienceGroupId")]
    found: list[int] = []
    for part in (*recipient.get("and", []), *recipient.get("or", []), recipient.get("not")):
        found.extend(_ids_of(part))
    return found


def _recipients(double: LineDouble, recipient: dict[str, Any], everyone: set[str]) -> set[str]:
    kind = recipient.get("type")
    if kind == "audience":
        group = double.state.audience_groups.get(recipient.get("audienceGroupId"))
        if group is None:
            raise TargetingError(f"audienceGroupId {recipient.get('audienceGroupId')} does not exist")
        return everyone & set(group["userIds"])
    if kind == "redelivery":
        original = double.state.narrowcasts.get(str(recipient.get("requestId")))
        return everyone & set(original["targets"]) if original else set()
    if kind == "operator":
        result = set(everyone)
        if recipient.get("and"):
            for part in recipient["and"]:
                result &= _recipients(double, part, everyone)
        if recipient.get("or"):
            union: set[str] = set()
            for part in recipient["or"]:
                union |= _recipients(double, part, everyone)
            result &= union
        if recipient.get("not"):
            result -= _recipients(double, recipient["not"], everyone)
        return result
    raise TargetingError(f"unknown recipient type {kind!r}")


def _range_matches(value: Any, scale: dict[str, int], low: str | None, high: str | None) -> bool:
    if not isinstance(value, int | float):
        return False
    return (low is None or value >= scale[low]) and (high is None or value < scale[high])


def matches(demographic: dict[str, Any], user: dict[str, Any]) -> bool:
    """Whether a user's known attributes satisfy a demographic filter object."""
    kind = demographic.get("type")
    attributes = user.get("demographics") or {}
    if kind == "operator":
        if demographic.get("and") and not all(matches(part, user) for part in demographic["and"]):
            return False
        if demographic.get("or") and not any(matches(part, user) for part in demographic["or"]):
            return False
        return not (demographic.get("not") and matches(demographic["not"], user))
    if kind in ("gender", "appType", "area"):
        return attributes.get(kind) in (demographic.get("oneOf") or [])
    if kind == "age":
        return _range_matches(attributes.get("age"), _AGES, demographic.get("gte"), demographic.get("lt"))
    if kind == "subscriptionPeriod":
        return _range_matches(
            attributes.get("subscriptionDays"), _PERIODS, demographic.get("gte"), demographic.get("lt")
        )
    raise TargetingError(f"unknown demographic filter type {kind!r}")


def narrowcast_targets(double: LineDouble, body: dict[str, Any]) -> tuple[list[str], int | None, str]:
    """(targets, errorCode or None, failedDescription) of a narrowcast request body."""
    state = double.state
    followers = set(state.followers)
    for group_id in _ids_of(body.get("recipient")):
        group = state.audience_groups.get(group_id)
        if group is not None and len(group["userIds"]) < MIN_AUDIENCE_SIZE:
            return [], 4, f"audience {group_id} has fewer than {MIN_AUDIENCE_SIZE} users"
    targets = _recipients(double, body["recipient"], followers) if body.get("recipient") else followers
    demographic = (body.get("filter") or {}).get("demographic")
    if demographic:
        if len(followers) < MIN_TARGETED_REACH:
            return [], 2, f"a demographic filter needs a targeted reach of at least {MIN_TARGETED_REACH}"
        targets = {user_id for user_id in targets if matches(demographic, state.users.get(user_id) or {})}
    ordered = sorted(targets)
    limit = (body.get("limit") or {}).get("max")
    if isinstance(limit, int):
        ordered = ordered[:limit]
    if not ordered:
        return [], 2, "there are no recipients"
    return ordered, None, ""


def check_targeting(double: LineDouble, body: dict[str, Any]) -> web.Response | None:
    """A 400 for a recipient or filter that names what does not exist, as LINE answers before accepting."""
    try:
        if body.get("recipient"):
            _recipients(double, body["recipient"], set())
        demographic = (body.get("filter") or {}).get("demographic")
        if demographic:
            matches(demographic, {})
    except TargetingError as exc:
        return error(400, "The request body has 1 error(s)", [{"message": str(exc), "property": "recipient"}])
    return None


# -- audience endpoints ---------------------------------------------------------------------------------------------
async def create_audience_group(double: LineDouble, call: Call) -> web.Response:
    body = call.body
    description = body.get("description") or ""
    if not description:
        return error(
            400, "The request body has 1 error(s)", [{"message": "must be specified", "property": "description"}]
        )
    user_ids = [entry.get("id") for entry in body.get("audiences") or [] if isinstance(entry, dict)]
    state = double.state
    state.audience_seq += 1
    group_id = state.audience_seq
    created = int(time.time())
    state.audience_groups[group_id] = {"description": description, "userIds": sorted(set(user_ids)), "created": created}
    return json_response(
        202,
        {
            "audienceGroupId": group_id,
            "createRoute": "MESSAGING_API",
            "type": "UPLOAD",
            "description": description,
            "created": created,
            "permission": "READ_WRITE",
            "expireTimestamp": created + 180 * 24 * 3600,
            "isIfaAudience": False,
        },
    )


async def get_audience_data(double: LineDouble, call: Call) -> web.Response:
    try:
        group_id = int(call.params["audienceGroupId"])
    except ValueError:
        return error(400, "The value for the 'audienceGroupId' path parameter is invalid")
    group = double.state.audience_groups.get(group_id)
    if group is None:
        return error(400, "audience group not found")
    return json_response(
        200,
        {
            "audienceGroup": {
                "audienceGroupId": group_id,
                "type": "UPLOAD",
                "description": group["description"],
                "status": "READY",
                "audienceCount": len(group["userIds"]),
                "created": group["created"],
                "isIfaAudience": False,
                "permission": "READ_WRITE",
                "createRoute": "MESSAGING_API",
            },
            "jobs": [],
        },
    )


ROUTES = [
    ("POST", "/v2/bot/audienceGroup/upload", create_audience_group),
    ("GET", "/v2/bot/audienceGroup/{audienceGroupId}", get_audience_data),
]
