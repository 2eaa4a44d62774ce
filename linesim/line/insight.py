"""The insight endpoints of the double, and the control routes that act out what users do with sent messages.

Every figure comes from what the double recorded: follows and blocks (with the double's clock time), messages
counted per day, and for each broadcast and narrowcast (and each push or multicast sent with a
``customAggregationUnits`` name) its recipients, its messages and what users did with them. LINE's rules:

* privacy: a figure below 20, or one that fewer than 20 users produced (30 plays by 15 users), is ``null``; the
  number of messages ``delivered`` is exact;
* interactions count for 14 days after the send; after that the figures no longer change;
* daily counts take about a day to calculate once the day (UTC+9) is over: today and yesterday are ``unready``,
  and days before LINE began counting are ``out_of_service``;
* statistics per unit cover sends between ``from`` and ``to``, at most 30 days apart;
* demographics need 20 friends;
* each insight endpoint takes 60 requests an hour (``config.LINE_RATE_LIMITS``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from linesim.line.app import Call, LineDouble, error, json_response
from linesim.line.clock import day_start, line_day
from linesim.line.state import Interaction, Send

PRIVACY_THRESHOLD = 20
FROZEN_AFTER_SECONDS = 14 * 86400
UNIT_PERIOD_DAYS = 30
DAY_SECONDS = 86400
# The first days LINE counted, per its reference: earlier dates answer out_of_service.
FOLLOWERS_SINCE = "20161101"
DELIVERIES_SINCE = "20180331"
REQUEST_KINDS = ("broadcast", "narrowcast")
MEDIA_TYPES = (
    "mediaPlayed",
    "mediaPlayed25Percent",
    "mediaPlayed50Percent",
    "mediaPlayed75Percent",
    "mediaPlayed100Percent",
)
INTERACTION_TYPES = ("impression", "click", *MEDIA_TYPES)
DEMOGRAPHIC_VALUES = {
    "gender": ("male", "female", "unknown"),
    "age": (
        "from0to14",
        "from15to19",
        "from20to24",
        "from25to29",
        "from30to34",
        "from35to39",
        "from40to44",
        "from45to49",
        "from50",
        "from50to54",
        "from55to59",
        "from60to64",
        "from65to69",
        "from70",
        "unknown",
    ),
    "appType": ("ios", "android", "others"),
}
DEMOGRAPHIC_FIELDS = ("gender", "age", "area", "appType")


def demographics_problem(demographics: dict) -> str | None:
    """What is wrong with a user's demographics (gender, age in years, area, appType), or None."""
    for name in ("gender", "appType"):
        value = demographics.get(name)
        if value is not None and value not in DEMOGRAPHIC_VALUES[name]:
            return f"{name} must be one of {list(DEMOGRAPHIC_VALUES[name])}"
    age = demographics.get("age")
    if age is not None and (isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= 150):
        return "age must be a whole number of years"
    return None


def age_bucket(age: int | None) -> str:
    """LINE's age group of an age in years, as the demographics endpoint reports it."""
    if age is None:
        return "unknown"
    if age < 15:
        return "from0to14"
    if age >= 70:
        return "from70"
    low = 15 if age < 20 else age - age % 5
    return f"from{low}to{low + 4}"


_SUBSCRIPTION_PERIODS = (
    (7, "within7days"),
    (30, "within30days"),
    (90, "within90days"),
    (180, "within180days"),
    (365, "within365days"),
)
_TEXT_URL = re.compile(r"https?://[^\s]+")
NOT_FOUND = "Not found"


# -- recording sends ------------------------------------------------------------------------------------------------
def remember_send(double: LineDouble, call: Call, kind: str, recipients: list[str]) -> None:
    """Keeps what LINE keeps statistics for: broadcasts and narrowcasts by request id, others by unit."""
    units = call.body.get("customAggregationUnits") or []
    if kind not in REQUEST_KINDS and not units:
        return
    double.state.remember_send(
        Send(
            request_id=call.request_id,
            kind=kind,
            sent_at=double.clock.now(),
            recipients=list(recipients),
            messages=list(call.body["messages"]),
            unit=units[0] if units else None,
        )
    )


def message_urls(message: dict[str, Any]) -> list[str]:
    """The URLs a user can open from one message: URI actions (and imagemap links) and links in a text."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "uri":
                found.extend(node[key] for key in ("uri", "linkUri") if isinstance(node.get(key), str))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message)
    if message.get("type") == "text" and isinstance(message.get("text"), str):
        found.extend(_TEXT_URL.findall(message["text"]))
    return list(dict.fromkeys(found))


# -- privacy and freezing -------------------------------------------------------------------------------------------
def _unique(users: set[str]) -> int | None:
    return len(users) if len(users) >= PRIVACY_THRESHOLD else None


def _count(events: list[Interaction]) -> int | None:
    users = {event.user_id for event in events}
    return len(events) if len(events) >= PRIVACY_THRESHOLD and len(users) >= PRIVACY_THRESHOLD else None


def counted_interactions(send: Send) -> list[Interaction]:
    """What still counts: interactions within 14 days of the send."""
    return [event for event in send.interactions if event.time < send.sent_at + FROZEN_AFTER_SECONDS]


def figures(sends: list[Send], *, unique_impression_per_message: bool) -> dict[str, Any]:
    """``overview`` (without the request fields), ``messages`` and ``clicks`` over the given sends."""
    events = [event for send in sends for event in counted_interactions(send)]

    def matching(kind: str, seq: int | None = None, url: str | None = None) -> list[Interaction]:
        return [
            event
            for event in events
            if event.type == kind and (seq is None or event.seq == seq) and (url is None or event.url == url)
        ]

    def users(found: Iterable[Interaction]) -> set[str]:
        return {event.user_id for event in found}

    overview = {
        "uniqueImpression": _unique(users(matching("impression"))),
        "uniqueClick": _unique(users(matching("click"))),
        "uniqueMediaPlayed": _unique(users(matching("mediaPlayed"))),
        "uniqueMediaPlayed100Percent": _unique(users(matching("mediaPlayed100Percent"))),
    }
    bubbles = max((len(send.messages) for send in sends), default=0)
    messages = []
    clicks = []
    for seq in range(1, bubbles + 1):
        entry: dict[str, Any] = {"seq": seq, "impression": _count(matching("impression", seq))}
        if unique_impression_per_message:
            entry["uniqueImpression"] = _unique(users(matching("impression", seq)))
        for kind in MEDIA_TYPES:
            entry[kind] = _count(matching(kind, seq))
            entry["unique" + kind[0].upper() + kind[1:]] = _unique(users(matching(kind, seq)))
        messages.append(entry)
        urls = dict.fromkeys(
            url for send in sends if seq <= len(send.messages) for url in message_urls(send.messages[seq - 1])
        )
        for url in urls:
            clicks.append(
                {
                    "seq": seq,
                    "url": url,
                    "click": _count(matching("click", seq, url)),
                    "uniqueClick": _unique(users(matching("click", seq, url))),
                    "uniqueClickOfRequest": _unique(users(matching("click", url=url))),
                }
            )
    return {"overview": overview, "messages": messages, "clicks": clicks}


# -- daily counts ---------------------------------------------------------------------------------------------------
def day_status(double: LineDouble, day: str, since: str) -> str:
    if day < since:
        return "out_of_service"
    yesterday = line_day(double.clock.now() - DAY_SECONDS)
    return "unready" if day >= yesterday else "ready"


def _valid_day(day: str) -> bool:
    try:
        datetime.strptime(day, "%Y%m%d")
    except ValueError:
        return False
    return True


def _invalid_query(name: str) -> web.Response:
    return error(
        400,
        "The request has 1 error(s)",
        [{"message": f"The value for the '{name}' query parameter is invalid", "property": name}],
    )


async def followers(double: LineDouble, call: Call) -> web.Response:
    # The spec leaves an omitted date open; the double reads it as yesterday.
    day = call.request.query.get("date") or line_day(double.clock.now() - DAY_SECONDS)
    if not _valid_day(day):
        return _invalid_query("date")
    status = day_status(double, day, FOLLOWERS_SINCE)
    if status != "ready":
        return json_response(200, {"status": status})
    ever, following, blocked = double.state.friends_as_of(day_start(day) + DAY_SECONDS)
    return json_response(200, {"status": "ready", "followers": ever, "targetedReaches": following, "blocks": blocked})


async def deliveries(double: LineDouble, call: Call) -> web.Response:
    day = call.request.query["date"]
    if not _valid_day(day):
        return _invalid_query("date")
    status = day_status(double, day, DELIVERIES_SINCE)
    if status != "ready":
        return json_response(200, {"status": status})
    counted = double.state.deliveries_by_day.get(day, {})
    # Only what goes through the Messaging API: the double has no LINE Official Account Manager.
    counts = {
        kind: counted.get(kind, 0) for kind in ("apiBroadcast", "apiPush", "apiMulticast", "apiNarrowcast", "apiReply")
    }
    return json_response(200, {"status": "ready", **counts})


def _tiles(values: list[str], name: str) -> list[dict[str, Any]]:
    total = len(values)
    shares = {value: values.count(value) for value in dict.fromkeys(values)}
    ordered = sorted(shares.items(), key=lambda item: (-item[1], item[0]))
    return [{name: value, "percentage": round(100.0 * count / total, 1)} for value, count in ordered]


def _subscription_period(days: float) -> str:
    for limit, name in _SUBSCRIPTION_PERIODS:
        if days < limit:
            return name
    return "over365days"


async def demographics(double: LineDouble, call: Call) -> web.Response:
    state = double.state
    friends = sorted(state.followers)
    if len(friends) < PRIVACY_THRESHOLD:
        return json_response(200, {"available": False})
    users = [state.ensure_user(user_id).get("demographics") or {} for user_id in friends]
    first = state.first_followed()
    now = double.clock.now()
    periods = [_subscription_period((now - first.get(user_id, now)) / DAY_SECONDS) for user_id in friends]
    return json_response(
        200,
        {
            "available": True,
            "genders": _tiles([user.get("gender") or "unknown" for user in users], "gender"),
            "ages": _tiles([age_bucket(user.get("age")) for user in users], "age"),
            "areas": _tiles([user.get("area") or "unknown" for user in users], "area"),
            "appTypes": _tiles([user.get("appType") or "others" for user in users], "appType"),
            "subscriptionPeriods": _tiles(periods, "subscriptionPeriod"),
        },
    )


# -- statistics of sent messages ------------------------------------------------------------------------------------
async def message_event(double: LineDouble, call: Call) -> web.Response:
    send = double.state.sends.get(call.request.query["requestId"])
    if send is None or send.kind not in REQUEST_KINDS:
        return error(404, NOT_FOUND)
    result = figures([send], unique_impression_per_message=False)
    result["overview"] = {
        "requestId": send.request_id,
        "timestamp": int(send.sent_at),
        "delivered": len(send.recipients),
        **result["overview"],
    }
    return json_response(200, result)


async def unit_statistics(double: LineDouble, call: Call) -> web.Response:
    query = call.request.query
    start, end = query["from"], query["to"]
    for name, day in (("from", start), ("to", end)):
        if not _valid_day(day):
            return _invalid_query(name)
    span = datetime.strptime(end, "%Y%m%d") - datetime.strptime(start, "%Y%m%d")
    if span < timedelta(0):
        return error(400, "'to' must not be before 'from'")
    if span > timedelta(days=UNIT_PERIOD_DAYS):
        return error(400, f"The period from 'from' to 'to' must be at most {UNIT_PERIOD_DAYS} days")
    sends = [
        send
        for send in double.state.unit_sends(query["customAggregationUnit"])
        if start <= line_day(send.sent_at) <= end
    ]
    return json_response(200, figures(sends, unique_impression_per_message=True))


ROUTES = [
    ("GET", "/v2/bot/insight/followers", followers),
    ("GET", "/v2/bot/insight/message/delivery", deliveries),
    ("GET", "/v2/bot/insight/demographic", demographics),
    ("GET", "/v2/bot/insight/message/event", message_event),
    ("GET", "/v2/bot/insight/message/event/aggregation", unit_statistics),
]
