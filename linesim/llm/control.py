"""The LLM double's control API under ``/_control/``: settings, faults, recorded requests, scripted answers."""

from __future__ import annotations

import json

from aiohttp import web

from linesim.llm.faults import FaultRule
from linesim.llm.state import STATE


async def _json_body(request) -> dict:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise web.HTTPBadRequest(
            text=json.dumps({"error": "body must be JSON"}), content_type="application/json"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "body must be an object"}), content_type="application/json")
    return body


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def control_health(request):
    return web.json_response({"status": "ok"})


async def control_get_config(request):
    return web.json_response(request.app[STATE].config())


async def control_set_config(request):
    body = await _json_body(request)
    unknown = set(body) - {"latency_ms", "tokens_per_second"}
    if unknown:
        return _bad(f"unknown keys: {sorted(unknown)}")
    try:
        request.app[STATE].apply_config(**body)
    except ValueError as exc:
        return _bad(str(exc))
    return web.json_response(request.app[STATE].config())


async def control_get_faults(request):
    return web.json_response({"faults": request.app[STATE].faults.describe()})


async def control_add_faults(request):
    body = await _json_body(request)
    rules = body.get("faults", [body])
    if not isinstance(rules, list):
        return _bad("faults must be an array")
    try:
        parsed = [FaultRule.from_json(rule) for rule in rules]
    except ValueError as exc:
        return _bad(str(exc))
    book = request.app[STATE].faults
    for rule in parsed:
        book.add(rule)
    return web.json_response({"faults": book.describe()})


async def control_clear_faults(request):
    state = request.app[STATE]
    state.faults.clear()
    state.release_hangs()
    return web.json_response({"faults": []})


async def control_requests(request):
    return web.json_response({"requests": list(request.app[STATE].recorded)})


async def control_clear_requests(request):
    request.app[STATE].recorded.clear()
    return web.json_response({"requests": []})


async def control_get_script(request):
    return web.json_response({"answers": request.app[STATE].scripted})


async def control_add_script(request):
    body = await _json_body(request)
    answers = body.get("answers")
    if not isinstance(answers, list) or not answers:
        return _bad("answers must be a non-empty array of {text, match?}")
    parsed = []
    for answer in answers:
        if not isinstance(answer, dict) or set(answer) - {"text", "match"} or not isinstance(answer.get("text"), str):
            return _bad("each answer is an object with a text (string) and optionally a match (string)")
        if not answer["text"]:
            return _bad("an answer's text must not be empty (the services never stream an empty answer)")
        if "match" in answer and not isinstance(answer["match"], str):
            return _bad("match must be a string")
        parsed.append({"text": answer["text"], "match": answer.get("match") or ""})
    state = request.app[STATE]
    state.scripted.extend(parsed)
    return web.json_response({"answers": state.scripted})


async def control_clear_script(request):
    request.app[STATE].scripted.clear()
    return web.json_response({"answers": []})


async def control_reset(request):
    request.app[STATE].reset()
    return web.json_response({"status": "reset"})
