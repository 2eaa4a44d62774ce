"""Messaging API endpoints of the double: sending, validation, chat indicators, profiles, content, quota and
webhook settings. The insight endpoints are in :mod:`linesim.line.insight`."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from linesim.line.app import Call, LineDouble, error, json_response
from linesim.line.clock import line_day
from linesim.line.insight import remember_send
from linesim.line.state import chat_key_for_id

_CHAT_ID = re.compile(r"^[UCR][0-9a-f]{32}$")
_USER_ID = re.compile(r"^U[0-9a-f]{32}$")
NOT_FOUND = "Not found"
MULTICAST_MAX_RECIPIENTS = 500


def _invalid_property(name: str) -> web.Response:
    return error(
        400,
        "The request body has 1 error(s)",
        [{"message": f"The property, '{name}', in the request body is invalid", "property": name}],
    )


def _deliver(double: LineDouble, call: Call, targets: list[str], messages: list[dict[str, Any]]) -> list[dict]:
    """Puts the messages in each target's chat; returns LINE's sentMessages of the first target."""
    state = double.state
    sent: list[dict[str, str]] = []
    for position, target in enumerate(targets):
        chat = chat_key_for_id(target)
        for message in messages:
            message_id = state.next_message_id()
            if position == 0:
                sent.append({"id": message_id, "quoteToken": secrets.token_urlsafe(24)})
            state.add_to_timeline(
                "bot_message", chat, messageId=message_id, message=message, via=call.operation.operation_id
            )
    call.targets = targets
    return sent


def _charge(double: LineDouble, call: Call, recipients: int, kind: str) -> web.Response | None:
    """Counts pushed messages against the monthly quota (replies are free, as on LINE)."""
    state, quota = double.state, double.config.monthly_quota
    if quota and state.usage + recipients > quota:
        return error(429, "You have reached your monthly limit.")
    state.usage += recipients
    state.count_delivery(line_day(double.clock.now()), kind, recipients)
    return None


# -- sending --------------------------------------------------------------------------------------------------------
async def reply(double: LineDouble, call: Call) -> web.Response:
    token = double.state.spend_reply_token(call.body["replyToken"])
    if token is None:
        return error(400, "Invalid reply token")
    source = token.source
    target = source.get("groupId") or source.get("roomId") or source["userId"]
    sent = _deliver(double, call, [target], call.body["messages"])
    double.state.count_delivery(line_day(double.clock.now()), "apiReply", 1)
    return json_response(200, {"sentMessages": sent})


async def push(double: LineDouble, call: Call) -> web.Response:
    to = call.body["to"]
    if not _CHAT_ID.match(to):
        return _invalid_property("to")
    refused = _charge(double, call, 1, "apiPush")
    if refused is not None:
        return refused
    sent = _deliver(double, call, [to], call.body["messages"])
    remember_send(double, call, "push", [to])
    double.remember_retry_key(call, sent)
    return json_response(200, {"sentMessages": sent})


async def multicast(double: LineDouble, call: Call) -> web.Response:
    to = call.body["to"]
    # The spec says so too, but LINE enforces it even when the double's spec checks are off.
    if not 1 <= len(to) <= MULTICAST_MAX_RECIPIENTS:
        return error(
            400,
            "The request body has 1 error(s)",
            [{"message": f"Size must be between 1 and {MULTICAST_MAX_RECIPIENTS}", "property": "to"}],
        )
    for index, user_id in enumerate(to):
        if not _USER_ID.match(user_id):
            return _invalid_property(f"to[{index}]")
    refused = _charge(double, call, len(to), "apiMulticast")
    if refused is not None:
        return refused
    _deliver(double, call, list(to), call.body["messages"])
    remember_send(double, call, "multicast", list(to))
    double.remember_retry_key(call, None)
    return json_response(200, {})


async def broadcast(double: LineDouble, call: Call) -> web.Response:
    followers = sorted(double.state.followers)
    refused = _charge(double, call, len(followers), "apiBroadcast")
    if refused is not None:
        return refused
    _deliver(double, call, followers, call.body["messages"])
    remember_send(double, call, "broadcast", followers)
    double.remember_retry_key(call, None)
    return json_response(200, {})


async def narrowcast(double: LineDouble, call: Call) -> web.Response:
    """Accepted at once (202); who it reaches, or why it fails, shows in the progress (see audiences.py)."""
    from linesim.line.audiences import check_targeting, narrowcast_targets

    refused = check_targeting(double, call.body)
    if refused is not None:
        return refused
    targets, error_code, reason = narrowcast_targets(double, call.body)
    now = _iso_now(double)
    progress: dict[str, Any] = {"phase": "failed", "acceptedTime": now, "completedTime": now}
    if error_code is not None:
        progress.update(errorCode=error_code, failedDescription=reason)
    else:
        refused = _charge(double, call, len(targets), "apiNarrowcast")
        if refused is not None:
            return refused
        _deliver(double, call, targets, call.body["messages"])
        remember_send(double, call, "narrowcast", targets)
        progress.update(phase="succeeded", successCount=len(targets), failureCount=0, targetCount=len(targets))
    # The first look at the progress finds it still waiting, as a real narrowcast takes a while.
    double.state.narrowcasts[call.request_id] = {"final": progress, "targets": targets, "polls": 0, "accepted": now}
    double.remember_retry_key(call, None)
    return json_response(202, {})


def _iso_now(double: LineDouble) -> str:
    # The double's clock, which tests can move forward (insight figures freeze 14 days after a send).
    return datetime.fromtimestamp(double.clock.now(), tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def narrowcast_progress(double: LineDouble, call: Call) -> web.Response:
    entry = double.state.narrowcasts.get(call.request.query["requestId"])
    if entry is None:
        return error(404, NOT_FOUND)
    entry["polls"] += 1
    if entry["polls"] == 1:
        return json_response(200, {"phase": "waiting", "acceptedTime": entry["accepted"]})
    return json_response(200, entry["final"])


async def validate(double: LineDouble, call: Call) -> web.Response:
    return json_response(200, {})


# -- chat indicators ------------------------------------------------------------------------------------------------
async def loading_start(double: LineDouble, call: Call) -> web.Response:
    chat_id = call.body["chatId"]
    seconds = call.body.get("loadingSeconds", 20)
    if not _USER_ID.match(chat_id):
        return _invalid_property("chatId")
    if seconds % 5:
        return error(
            400,
            "The request body has 1 error(s)",
            [{"message": "must be a multiple of 5", "property": "loadingSeconds"}],
        )
    call.targets = [chat_id]
    double.state.add_to_timeline("loading", "user:" + chat_id, seconds=seconds)
    return json_response(202, {})


async def mark_as_read_by_token(double: LineDouble, call: Call) -> web.Response:
    if call.body["markAsReadToken"] not in double.state.mark_as_read_tokens:
        return error(400, "Invalid markAsReadToken")
    return json_response(200, {})


async def mark_as_read(double: LineDouble, call: Call) -> web.Response:
    user_id = call.body["chat"]["userId"]
    call.targets = [user_id]
    double.state.add_to_timeline("read", "user:" + user_id)
    return json_response(200, {})


# -- people ---------------------------------------------------------------------------------------------------------
def _profile(user: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: user[name] for name in fields if user.get(name) is not None}


async def profile(double: LineDouble, call: Call) -> web.Response:
    user = double.state.users.get(call.params["userId"])
    if user is None:
        return error(404, NOT_FOUND)
    return json_response(200, _profile(user, ("userId", "displayName", "pictureUrl", "statusMessage", "language")))


async def followers(double: LineDouble, call: Call) -> web.Response:
    return json_response(200, {"userIds": sorted(double.state.followers)})


async def bot_info(double: LineDouble, call: Call) -> web.Response:
    return json_response(
        200,
        {
            "userId": double.config.bot_user_id,
            "basicId": "@linesim",
            "displayName": "LINE simulator bot",
            "chatMode": "bot",
            "markAsReadMode": "manual",
        },
    )


def _group_or_room(double: LineDouble, call: Call) -> dict[str, Any] | None:
    if "groupId" in call.params:
        return double.state.groups.get(call.params["groupId"])
    return double.state.rooms.get(call.params["roomId"])


async def group_summary(double: LineDouble, call: Call) -> web.Response:
    group = double.state.groups.get(call.params["groupId"])
    if group is None:
        return error(404, NOT_FOUND)
    return json_response(200, _profile(group, ("groupId", "groupName", "pictureUrl")))


async def member_profile(double: LineDouble, call: Call) -> web.Response:
    chat = _group_or_room(double, call)
    user_id = call.params["userId"]
    if chat is None or user_id not in chat["members"]:
        return error(404, NOT_FOUND)
    user = double.state.ensure_user(user_id)
    return json_response(200, _profile(user, ("userId", "displayName", "pictureUrl")))


async def member_ids(double: LineDouble, call: Call) -> web.Response:
    chat = _group_or_room(double, call)
    if chat is None:
        return error(404, NOT_FOUND)
    return json_response(200, {"memberIds": list(chat["members"])})


async def member_count(double: LineDouble, call: Call) -> web.Response:
    chat = _group_or_room(double, call)
    if chat is None:
        return error(404, NOT_FOUND)
    return json_response(200, {"count": len(chat["members"])})


async def leave(double: LineDouble, call: Call) -> web.Response:
    chat = _group_or_room(double, call)
    if chat is None:
        return error(404, NOT_FOUND)
    chat_id = chat.get("groupId") or chat["roomId"]
    call.targets = [chat_id]
    double.state.add_to_timeline("bot_left", chat_key_for_id(chat_id))
    return json_response(200, {})


# -- content --------------------------------------------------------------------------------------------------------
async def content(double: LineDouble, call: Call) -> web.Response:
    stored = double.state.contents.get(call.params["messageId"])
    if stored is None:
        return error(404, NOT_FOUND)
    return web.Response(status=200, body=stored.data, content_type=stored.content_type)


async def content_transcoding(double: LineDouble, call: Call) -> web.Response:
    if call.params["messageId"] not in double.state.contents:
        return error(404, NOT_FOUND)
    return json_response(200, {"status": "succeeded"})


# -- quota and statistics -------------------------------------------------------------------------------------------
async def quota(double: LineDouble, call: Call) -> web.Response:
    limit = double.config.monthly_quota
    return json_response(200, {"type": "limited", "value": limit} if limit else {"type": "none"})


async def quota_consumption(double: LineDouble, call: Call) -> web.Response:
    return json_response(200, {"totalUsage": double.state.usage})


def _sent_count(kind: str):
    async def count(double: LineDouble, call: Call) -> web.Response:
        day = double.state.deliveries_by_day.get(call.request.query["date"], {})
        return json_response(200, {"status": "ready", "success": day.get(kind, 0)})

    return count


# -- webhook settings -----------------------------------------------------------------------------------------------
async def get_webhook_endpoint(double: LineDouble, call: Call) -> web.Response:
    url = double.config.webhook_url
    return json_response(200, {"endpoint": url, "active": bool(url)})


async def set_webhook_endpoint(double: LineDouble, call: Call) -> web.Response:
    endpoint = call.body["endpoint"]
    if not endpoint.startswith(("https://", "http://")):
        return _invalid_property("endpoint")
    double.config.webhook_url = endpoint
    return json_response(200, {})


async def test_webhook_endpoint(double: LineDouble, call: Call) -> web.Response:
    url = (call.body or {}).get("endpoint") or double.config.webhook_url
    delivery = await double.webhooks.post_payload({"destination": double.config.bot_user_id, "events": []}, url=url)
    status = delivery["status"] or 0
    return json_response(
        200,
        {
            "success": 200 <= status < 300,
            "timestamp": datetime.now(tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "statusCode": status,
            "reason": "OK" if 200 <= status < 300 else "ERROR_STATUS_CODE",
            "detail": delivery.get("error") or str(status),
        },
    )


ROUTES = [
    ("POST", "/v2/bot/message/reply", reply),
    ("POST", "/v2/bot/message/push", push),
    ("POST", "/v2/bot/message/multicast", multicast),
    ("POST", "/v2/bot/message/broadcast", broadcast),
    ("POST", "/v2/bot/message/narrowcast", narrowcast),
    ("GET", "/v2/bot/message/progress/narrowcast", narrowcast_progress),
    ("POST", "/v2/bot/message/validate/reply", validate),
    ("POST", "/v2/bot/message/validate/push", validate),
    ("POST", "/v2/bot/message/validate/multicast", validate),
    ("POST", "/v2/bot/message/validate/broadcast", validate),
    ("POST", "/v2/bot/message/validate/narrowcast", validate),
    ("POST", "/v2/bot/chat/loading/start", loading_start),
    ("POST", "/v2/bot/chat/markAsRead", mark_as_read_by_token),
    ("POST", "/v2/bot/message/markAsRead", mark_as_read),
    ("GET", "/v2/bot/profile/{userId}", profile),
    ("GET", "/v2/bot/followers/ids", followers),
    ("GET", "/v2/bot/info", bot_info),
    ("GET", "/v2/bot/group/{groupId}/summary", group_summary),
    ("GET", "/v2/bot/group/{groupId}/member/{userId}", member_profile),
    ("GET", "/v2/bot/room/{roomId}/member/{userId}", member_profile),
    ("GET", "/v2/bot/group/{groupId}/members/ids", member_ids),
    ("GET", "/v2/bot/room/{roomId}/members/ids", member_ids),
    ("GET", "/v2/bot/group/{groupId}/members/count", member_count),
    ("GET", "/v2/bot/room/{roomId}/members/count", member_count),
    ("POST", "/v2/bot/group/{groupId}/leave", leave),
    ("POST", "/v2/bot/room/{roomId}/leave", leave),
    ("GET", "/v2/bot/message/{messageId}/content", content),
    ("GET", "/v2/bot/message/{messageId}/content/preview", content),
    ("GET", "/v2/bot/message/{messageId}/content/transcoding", content_transcoding),
    ("GET", "/v2/bot/message/quota", quota),
    ("GET", "/v2/bot/message/quota/consumption", quota_consumption),
    ("GET", "/v2/bot/message/delivery/reply", _sent_count("apiReply")),
    ("GET", "/v2/bot/message/delivery/push", _sent_count("apiPush")),
    ("GET", "/v2/bot/message/delivery/multicast", _sent_count("apiMulticast")),
    ("GET", "/v2/bot/message/delivery/broadcast", _sent_count("apiBroadcast")),
    ("GET", "/v2/bot/channel/webhook/endpoint", get_webhook_endpoint),
    ("PUT", "/v2/bot/channel/webhook/endpoint", set_webhook_endpoint),
    ("POST", "/v2/bot/channel/webhook/test", test_webhook_endpoint),
]
