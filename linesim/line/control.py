"""The control API (``/_control/…``) that tests and the simulator page use, and the simulator page itself."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from linesim.line.app import LineDouble, json_response
from linesim.line.faults import FaultConfigError
from linesim.line.state import Content, new_group_id, new_room_id, new_user_id
from linesim.line.webhook import EventError

STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: http: https:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
CONFIG_FIELDS = {
    "webhookUrl": ("webhook_url", str),
    "replyTokenTtl": ("reply_token_ttl", (int, float)),
    "specChecks": ("spec_checks", bool),
    "rateLimits": ("rate_limits", bool),
    "acceptAnyToken": ("accept_any_token", bool),
    "monthlyQuota": ("monthly_quota", int),
}


def _bad(message: str) -> web.Response:
    return json_response(400, {"message": message})


async def _json(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise web.HTTPBadRequest(text='{"message": "the body is not JSON"}', content_type="application/json") from exc
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text='{"message": "the body must be a JSON object"}', content_type="application/json")
    return data


def _parsed(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", errors="replace")


def add_routes(app: web.Application, double: LineDouble) -> None:
    routes = web.RouteTableDef()

    @routes.get("/_control/health")
    async def health(request: web.Request) -> web.Response:
        return json_response(200, {"ok": True})

    @routes.get("/_control/config")
    async def get_config(request: web.Request) -> web.Response:
        return json_response(200, double.config.public())

    @routes.post("/_control/config")
    async def set_config(request: web.Request) -> web.Response:
        data = await _json(request)
        updates = {}
        for name, value in data.items():
            if name not in CONFIG_FIELDS:
                return _bad(f"unknown setting {name}; known: {sorted(CONFIG_FIELDS)}")
            attribute, kind = CONFIG_FIELDS[name]
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                return _bad(f"{name} has the wrong type")
            updates[attribute] = value
        for attribute, value in updates.items():
            setattr(double.config, attribute, value)
        double.rate_limiter.enabled = double.config.rate_limits
        return json_response(200, double.config.public())

    @routes.post("/_control/reset")
    async def reset(request: web.Request) -> web.Response:
        double.reset()
        return json_response(200, {"ok": True})

    @routes.get("/_control/faults")
    async def get_faults(request: web.Request) -> web.Response:
        return json_response(200, double.faults.describe())

    @routes.post("/_control/faults")
    async def set_faults(request: web.Request) -> web.Response:
        try:
            double.faults.configure(await _json(request))
        except FaultConfigError as exc:
            return _bad(str(exc))
        return json_response(200, double.faults.describe())

    @routes.delete("/_control/faults")
    async def clear_faults(request: web.Request) -> web.Response:
        double.faults.configure({"seed": double.faults.seed})
        return json_response(200, double.faults.describe())

    @routes.get("/_control/rate-limits")
    async def get_rate_limits(request: web.Request) -> web.Response:
        return json_response(200, double.rate_limiter.describe())

    @routes.post("/_control/rate-limits")
    async def set_rate_limit(request: web.Request) -> web.Response:
        data = await _json(request)
        try:
            double.rate_limiter.set_limit(
                str(data["endpoint"]), int(data["requests"]), float(data.get("perSeconds", 1))
            )
        except (KeyError, TypeError, ValueError) as exc:
            return _bad(f"give endpoint, requests and perSeconds: {exc}")
        return json_response(200, double.rate_limiter.describe())

    @routes.get("/_control/requests")
    async def recorded(request: web.Request) -> web.Response:
        query = request.query
        entries = list(double.state.recorded)
        if "userId" in query:
            entries = [entry for entry in entries if query["userId"] in entry["to"]]
        if "endpoint" in query:
            entries = [entry for entry in entries if entry["endpoint"] == query["endpoint"]]
        if "status" in query:
            entries = [entry for entry in entries if str(entry["status"]) == query["status"]]
        return json_response(200, {"requests": [{**entry, "body": _parsed(entry["body"])} for entry in entries]})

    @routes.delete("/_control/requests")
    async def clear_recorded(request: web.Request) -> web.Response:
        double.state.recorded.clear()
        return json_response(200, {"ok": True})

    @routes.get("/_control/messages")
    async def delivered(request: web.Request) -> web.Response:
        chat = request.query.get("chat")
        if "userId" in request.query:
            chat = "user:" + request.query["userId"]
        entries = [
            entry
            for entry in double.state.timeline
            if entry["kind"] == "bot_message" and (chat is None or entry["chat"] == chat)
        ]
        return json_response(200, {"messages": entries})

    @routes.get("/_control/users")
    async def users(request: web.Request) -> web.Response:
        return json_response(200, {"users": list(double.state.users.values())})

    @routes.post("/_control/users")
    async def add_user(request: web.Request) -> web.Response:
        data = await _json(request)
        user = double.state.ensure_user(
            data.get("userId") or new_user_id(),
            data.get("displayName"),
            pictureUrl=data.get("pictureUrl"),
            language=data.get("language"),
            statusMessage=data.get("statusMessage"),
        )
        return json_response(200, user)

    @routes.get("/_control/groups")
    async def groups(request: web.Request) -> web.Response:
        chats = [*double.state.groups.values(), *double.state.rooms.values()]
        return json_response(200, {"groups": chats})

    @routes.post("/_control/groups")
    async def add_group(request: web.Request) -> web.Response:
        data = await _json(request)
        if data.get("type") == "room":
            chat = double.state.ensure_room(data.get("roomId") or new_room_id())
        else:
            chat = double.state.ensure_group(data.get("groupId") or new_group_id(), data.get("groupName"))
        for member in data.get("members", []):
            double.state.ensure_user(member)
            if member not in chat["members"]:
                chat["members"].append(member)
        return json_response(200, chat)

    @routes.post("/_control/reply-tokens")
    async def issue_reply_token(request: web.Request) -> web.Response:
        data = await _json(request)
        ttl = data.get("ttl", double.config.reply_token_ttl)
        if data.get("groupId"):
            source = {"type": "group", "groupId": data["groupId"]}
        elif data.get("roomId"):
            source = {"type": "room", "roomId": data["roomId"]}
        else:
            source = {"type": "user", "userId": data.get("userId") or new_user_id()}
        if data.get("userId"):
            source["userId"] = data["userId"]
        if not isinstance(ttl, int | float):
            return _bad("ttl must be a number of seconds")
        wanted = data.get("replyToken")
        if wanted is not None and (not isinstance(wanted, str) or not wanted.strip()):
            return _bad("replyToken must be a non-empty string")
        if wanted is not None and wanted in double.state.reply_tokens:
            return _bad("that reply token is already registered")
        token = double.state.issue_reply_token(source, ttl, wanted)
        return json_response(200, {"replyToken": token, "source": source})

    @routes.post("/_control/webhook/send")
    async def send_webhook(request: web.Request) -> web.Response:
        data = await _json(request)
        try:
            result = await double.webhooks.send(data, url=data.get("url"))
        except EventError as exc:
            return _bad(str(exc))
        return json_response(200, result)

    @routes.post("/_control/webhook/redeliver")
    async def redeliver(request: web.Request) -> web.Response:
        data = await _json(request)
        try:
            result = await double.webhooks.redeliver(str(data.get("webhookEventId")), url=data.get("url"))
        except EventError as exc:
            return _bad(str(exc))
        return json_response(200, result)

    @routes.post("/_control/webhook/events")
    async def post_raw_events(request: web.Request) -> web.Response:
        data = await _json(request)
        events = data.get("events")
        if not isinstance(events, list):
            return _bad("events must be a list of webhook event objects")
        return json_response(200, {"delivery": await double.webhooks.post_events(events, url=data.get("url"))})

    @routes.get("/_control/webhook/deliveries")
    async def deliveries(request: web.Request) -> web.Response:
        return json_response(200, {"deliveries": list(double.state.webhooks)})

    @routes.delete("/_control/webhook/deliveries")
    async def clear_deliveries(request: web.Request) -> web.Response:
        double.state.webhooks.clear()
        return json_response(200, {"ok": True})

    @routes.get("/_control/timeline")
    async def timeline(request: web.Request) -> web.Response:
        try:
            since = int(request.query.get("since", "0"))
        except ValueError:
            return _bad("since must be an integer")
        return json_response(200, {"entries": double.state.timeline_since(since), "seq": double.state.seq})

    @routes.post("/_control/contents")
    async def add_content(request: web.Request) -> web.Response:
        data = await _json(request)
        message_id = data.get("messageId") or double.state.next_message_id()
        if not isinstance(message_id, str) or not message_id.isdigit():
            return _bad("messageId must be a string of digits, as LINE's message ids are")
        raw = data.get("contentBase64")
        if not isinstance(raw, str):
            return _bad("contentBase64 is required (the content, base64-encoded)")
        try:
            content = base64.b64decode(raw, validate=True)
        except ValueError:
            return _bad("contentBase64 is not valid base64")
        content_type = data.get("contentType") or "application/octet-stream"
        file_name = data.get("fileName") or ""
        if not isinstance(content_type, str) or not isinstance(file_name, str):
            return _bad("contentType and fileName must be strings")
        double.state.contents[message_id] = Content(data=content, content_type=content_type, file_name=file_name)
        return json_response(200, {"messageId": message_id, "size": len(content), "contentType": content_type})

    @routes.get("/_control/contents/{messageId}")
    async def content(request: web.Request) -> web.Response:
        stored = double.state.contents.get(request.match_info["messageId"])
        if stored is None:
            return json_response(404, {"message": "Not found"})
        return web.Response(body=stored.data, content_type=stored.content_type)

    @routes.get("/simulator")
    async def simulator(request: web.Request) -> web.FileResponse:
        response = web.FileResponse(STATIC_DIR / "simulator.html")
        response.headers["Content-Security-Policy"] = PAGE_CSP
        return response

    app.router.add_routes(routes)
    app.router.add_static("/simulator/static/", STATIC_DIR)
