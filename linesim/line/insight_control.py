"""Control routes that act out what users do with sent messages (``/_control/insight/…``).

Interactions are recorded against one send, at the double's clock time, and only for its recipients; clicks only on
links the message has. :mod:`linesim.line.insight` turns them into LINE's figures.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from linesim.line.app import LineDouble, json_response
from linesim.line.clock import line_day
from linesim.line.insight import INTERACTION_TYPES, message_urls
from linesim.line.state import Interaction, Send


class InteractionError(ValueError):
    pass


def _positive_int(data: dict[str, Any], name: str, default: int) -> int:
    value = data.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InteractionError(f"{name} must be a whole number of at least 1")
    return value


def _chosen_users(data: dict[str, Any], pool: list[str], pool_name: str) -> list[str]:
    if "userIds" in data:
        chosen = data["userIds"]
        if not isinstance(chosen, list) or not all(isinstance(user, str) for user in chosen):
            raise InteractionError("userIds must be a list of user ids")
        strangers = sorted(set(chosen) - set(pool))
        if strangers:
            raise InteractionError(f"not {pool_name}: {', '.join(strangers[:5])}")
        return list(dict.fromkeys(chosen))
    count = _positive_int(data, "users", 1)
    if count > len(pool):
        raise InteractionError(f"users is {count}, but there are only {len(pool)} {pool_name}")
    return sorted(pool)[:count]


def _target_send(double: LineDouble, data: dict[str, Any]) -> Send:
    if data.get("requestId"):
        send = double.state.sends.get(str(data["requestId"]))
        if send is None:
            raise InteractionError(f"no broadcast, narrowcast or unit send has the request id {data['requestId']}")
        return send
    if data.get("unit"):
        sends = double.state.unit_sends(str(data["unit"]))
        if not sends:
            raise InteractionError(f"nothing was sent with the unit {data['unit']}")
        return sends[-1]
    raise InteractionError("give the requestId of a send, or a unit (its latest send)")


def record_interactions(double: LineDouble, data: dict[str, Any]) -> dict[str, Any]:
    """``{"requestId" | "unit", "type", "users": N | "userIds": [...], "seq": 1, "url": …, "times": 1}``."""
    send = _target_send(double, data)
    kind = data.get("type")
    if kind not in INTERACTION_TYPES:
        raise InteractionError(f"type must be one of {list(INTERACTION_TYPES)}")
    seq = _positive_int(data, "seq", 1)
    if seq > len(send.messages):
        raise InteractionError(f"seq is {seq}, but the send has {len(send.messages)} message(s)")
    url = data.get("url")
    if kind == "click":
        urls = message_urls(send.messages[seq - 1])
        if url not in urls:
            raise InteractionError(f"a click needs the url of a link in message {seq}: one of {urls}")
    elif url is not None:
        raise InteractionError("only a click has a url")
    times = _positive_int(data, "times", 1)
    users = _chosen_users(data, send.recipients, "recipients of the send")
    now = double.clock.now()
    for user_id in users:
        send.interactions.extend(Interaction(now, user_id, kind, seq, url) for _ in range(times))
    return {"requestId": send.request_id, "recorded": len(users) * times}


def record_blocks(double: LineDouble, data: dict[str, Any]) -> dict[str, Any]:
    """Friends block the bot without a webhook (send an ``unfollow`` event when the bot must hear of it)."""
    state = double.state
    users = _chosen_users(data, sorted(state.followers), "friends of the bot")
    now = double.clock.now()
    for user_id in users:
        state.block(user_id, now)
    return {"blocked": users}


def describe_send(send: Send) -> dict[str, Any]:
    return {
        "requestId": send.request_id,
        "kind": send.kind,
        "unit": send.unit,
        "sentAt": send.sent_at,
        "lineDay": line_day(send.sent_at),
        "recipients": len(send.recipients),
        "messages": len(send.messages),
        "interactions": len(send.interactions),
    }


def add_routes(app: web.Application, double: LineDouble) -> None:
    from linesim.line.control import read_json

    def acting(action: Callable[[LineDouble, dict[str, Any]], dict[str, Any]]):
        async def handle(request: web.Request) -> web.Response:
            try:
                return json_response(200, action(double, await read_json(request)))
            except InteractionError as exc:
                return json_response(400, {"message": str(exc)})

        return handle

    async def sends(request: web.Request) -> web.Response:
        return json_response(200, {"sends": [describe_send(send) for send in double.state.sends.values()]})

    app.router.add_get("/_control/insight/sends", sends)
    app.router.add_post("/_control/insight/interactions", acting(record_interactions))
    app.router.add_post("/_control/insight/blocks", acting(record_blocks))
