"""The compiled spec validators: the fast one (discriminators as lookups) agrees with the detailed one."""

import copy
import json
import re
from pathlib import Path

import fastjsonschema
import pytest

from linesim.line.app import spec_book

PUSH_LUA = Path(__file__).resolve().parents[2] / "benchmarks" / "linesim" / "push.lua"
USER = "U" + "1" * 32


def flex_push():
    return json.loads(re.search(r"local flex_body = '(.*)'", PUSH_LUA.read_text()).group(1))


def other_pushes():
    messages = [
        {
            "type": "text",
            "text": "hi",
            "quickReply": {"items": [{"type": "action", "action": {"type": "camera", "label": "c"}}]},
        },
        {"type": "sticker", "packageId": "446", "stickerId": "1988"},
        {
            "type": "image",
            "originalContentUrl": "https://example.com/a.jpg",
            "previewImageUrl": "https://example.com/b.jpg",
        },
        {"type": "location", "title": "t", "address": "a", "latitude": 35.6, "longitude": 139.7},
        {
            "type": "template",
            "altText": "t",
            "template": {
                "type": "buttons",
                "text": "Pick",
                "actions": [
                    {"type": "postback", "label": "A", "data": "a"},
                    {"type": "uri", "label": "B", "uri": "https://x.y"},
                ],
            },
        },
        {
            "type": "template",
            "altText": "t",
            "template": {
                "type": "confirm",
                "text": "Sure?",
                "actions": [
                    {"type": "message", "label": "Y", "text": "y"},
                    {"type": "message", "label": "N", "text": "n"},
                ],
            },
        },
    ]
    return [{"to": USER, "messages": [message]} for message in messages]


def mutations(body):
    """Every variant with one discriminated object broken: unknown type, type removed, a field of the wrong type."""
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            if "type" in node:
                paths.append(path)
            for key, value in node.items():
                walk(value, [*path, key])
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, [*path, index])

    walk(body, [])
    for path in paths:
        for change in ("unknown", "removed", "wrong-type"):
            variant = copy.deepcopy(body)
            node = variant
            for key in path:
                node = node[key]
            if change == "unknown":
                node["type"] = "bogus"
            elif change == "removed":
                del node["type"]
            else:
                field = next((key for key, value in node.items() if isinstance(value, str) and key != "type"), None)
                if field is None:
                    continue
                node[field] = 12345
            yield variant


def verdict(validator, body):
    try:
        validator(body)
    except fastjsonschema.JsonSchemaValueException:
        return "rejected"
    return "accepted"


@pytest.fixture(scope="module")
def push_validator():
    return spec_book(None).operation("POST", "/v2/bot/message/push").body_validator


@pytest.mark.parametrize("body", [flex_push(), *other_pushes()])
def test_it_has_fast_and_detailed_validators_that_agree(push_validator, body):
    bodies = [body, *mutations(body)]

    fast = [verdict(push_validator.fast, candidate) for candidate in bodies]
    detailed = [verdict(push_validator.detailed, candidate) for candidate in bodies]

    assert fast == detailed
    assert fast[0] == "accepted"
    assert "rejected" in fast[1:]


def test_it_turns_discriminator_chains_into_lookups(push_validator):
    lookups = {name for name in push_validator.fast.__globals__ if name.startswith("DIRECT_")}

    assert any("flexcomponent" in name for name in lookups)
    assert any("_message__" in name for name in lookups)
    assert any("_action__" in name for name in lookups)
