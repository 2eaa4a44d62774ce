"""Checks a chat completion request the way the real services do, before anything is answered."""

from __future__ import annotations

import base64
import binascii
import io
import re

from PIL import Image, UnidentifiedImageError

ROLES = {"system", "developer", "user", "assistant", "tool"}
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_DATA_URL = re.compile(r"^data:(image/(?:png|jpeg|jpg|gif|webp));base64,(.*)$", re.DOTALL)
_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/jpg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


class InvalidRequest(Exception):
    def __init__(self, message: str, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code


def check_image_url(url: object, param: str) -> dict | None:
    """Checks an image part's URL; for a data URL, returns what the image is (mime, bytes, size)."""
    if not isinstance(url, str) or not url:
        raise InvalidRequest("image_url.url must be a non-empty string.", param)
    if url.startswith(("http://", "https://")):
        return None
    match = _DATA_URL.match(url)
    if not match:
        raise InvalidRequest(
            "Invalid image URL: expected an http(s) URL or a base64 data URL of a png, jpeg, gif or webp image.",
            param,
            "invalid_image_url",
        )
    mime, payload = match.groups()
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest(
            "Invalid image data: the base64 payload does not decode.", param, "invalid_image_format"
        ) from None
    if not data.startswith(_MAGIC[mime]):
        raise InvalidRequest(f"Invalid image data: the payload is not a {mime} image.", param, "invalid_image_format")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            image.load()  # decodes it whole, so a truncated image is caught too
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        raise InvalidRequest("Invalid image data: the image is damaged.", param, "invalid_image_format") from None
    return {"mime": mime, "bytes": len(data), "width": width, "height": height}


def compact_body(body: object) -> object:
    """The body as recorded: each data URL replaced by a short stand-in, so recording stays small."""
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return body
    messages = []
    for message in body["messages"]:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            parts = []
            for part in content:
                url = (part.get("image_url") or {}).get("url") if isinstance(part, dict) else None
                if isinstance(url, str) and url.startswith("data:"):
                    head = url.split(",", 1)[0]
                    part = {**part, "image_url": {**part["image_url"], "url": f"{head},...({len(url)} chars)"}}
                parts.append(part)
            message = {**message, "content": parts}
        messages.append(message)
    return {**body, "messages": messages}


def _check_content(content: object, index: int, role: str, images: list[dict]) -> None:
    param = f"messages.[{index}].content"
    if isinstance(content, str):
        return
    if content is None and role in ("assistant",):
        return
    if not isinstance(content, list) or not content:
        raise InvalidRequest("content must be a string or a non-empty array of content parts.", param)
    for j, part in enumerate(content):
        part_param = f"{param}.[{j}]"
        if not isinstance(part, dict):
            raise InvalidRequest("A content part must be an object.", part_param)
        kind = part.get("type")
        if kind == "text":
            if not isinstance(part.get("text"), str):
                raise InvalidRequest("A text part needs a string 'text'.", f"{part_param}.text")
        elif kind == "image_url":
            if role != "user":
                raise InvalidRequest("Image content parts are only allowed in user messages.", part_param)
            image = part.get("image_url")
            if not isinstance(image, dict):
                raise InvalidRequest("An image_url part needs an 'image_url' object.", f"{part_param}.image_url")
            info = check_image_url(image.get("url"), f"{part_param}.image_url.url")
            if info is not None:
                images.append({"message": index, **info})
        else:
            raise InvalidRequest(f"Invalid content part type: {kind!r}.", f"{part_param}.type")


def _check_tools(body: dict) -> None:
    tools = body.get("tools")
    if tools is None:
        if isinstance(body.get("tool_choice"), dict):
            raise InvalidRequest("tool_choice is only allowed when tools are specified.", "tool_choice")
        return
    if not isinstance(tools, list) or not tools:
        raise InvalidRequest("tools must be a non-empty array.", "tools")
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
            raise InvalidRequest("Each tool must be {'type': 'function', 'function': {...}}.", f"tools.[{i}]")
        if not isinstance(function.get("name"), str) or not _TOOL_NAME.match(function["name"]):
            raise InvalidRequest("A function name must match ^[a-zA-Z0-9_-]{1,64}$.", f"tools.[{i}].function.name")
        if "parameters" in function and not isinstance(function["parameters"], dict):
            raise InvalidRequest(
                "Function parameters must be a JSON schema object.", f"tools.[{i}].function.parameters"
            )
    choice = body.get("tool_choice")
    if choice is not None and choice not in ("none", "auto", "required") and not isinstance(choice, dict):
        raise InvalidRequest("tool_choice must be none, auto, required or a function.", "tool_choice")


def check_chat_request(body: object, *, model_required: bool) -> list[dict]:
    """Raises InvalidRequest for a request the service would refuse; returns the data-URL images it carries."""
    images: list[dict] = []
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    if model_required and not isinstance(body.get("model"), str):
        raise InvalidRequest("you must provide a model parameter", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("'messages' must be a non-empty array.", "messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise InvalidRequest(f"Invalid value for 'role' at messages[{i}].", f"messages.[{i}].role")
        role = message["role"]
        if role == "tool" and not isinstance(message.get("tool_call_id"), str):
            raise InvalidRequest("A tool message needs a 'tool_call_id'.", f"messages.[{i}].tool_call_id")
        if role == "assistant" and message.get("content") is None and not message.get("tool_calls"):
            raise InvalidRequest("An assistant message needs content or tool_calls.", f"messages.[{i}].content")
        _check_content(message.get("content"), i, role, images)
    _check_tools(body)
    for name, low, high in (("temperature", 0, 2), ("top_p", 0, 1)):
        value = body.get(name)
        if value is not None and (not isinstance(value, int | float) or not low <= value <= high):
            raise InvalidRequest(f"{name} must be between {low} and {high}.", name)
    max_tokens = body.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise InvalidRequest("max_tokens must be a positive integer.", "max_tokens")
    options = body.get("stream_options")
    if options is not None and not body.get("stream"):
        raise InvalidRequest("stream_options is only allowed when stream is true.", "stream_options")
    _check_response_format(body)
    return images


_SCHEMA_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _check_response_format(body: dict) -> None:
    """``response_format`` as the services take it: text, json_object or json_schema (name and schema)."""
    shape = body.get("response_format")
    if shape is None:
        return
    if not isinstance(shape, dict) or shape.get("type") not in ("text", "json_object", "json_schema"):
        raise InvalidRequest(
            "response_format.type must be one of 'text', 'json_object' or 'json_schema'.", "response_format.type"
        )
    if shape["type"] == "json_object":
        texts = " ".join(_text_of(message.get("content")) for message in body["messages"])
        if "json" not in texts.lower():
            # OpenAI's rule: a prompt asking for JSON must say so, or the model may stream whitespace forever.
            raise InvalidRequest(
                "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
                "messages",
            )
    if shape["type"] == "json_schema":
        spec = shape.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not _SCHEMA_NAME.match(spec["name"]):
            raise InvalidRequest(
                "response_format.json_schema needs a name matching ^[a-zA-Z0-9_-]{1,64}$.",
                "response_format.json_schema.name",
            )
        schema = spec.get("schema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise InvalidRequest(
                "response_format.json_schema.schema must be a JSON schema of type object.",
                "response_format.json_schema.schema",
            )
        if spec.get("strict"):
            properties = schema.get("properties") or {}
            if schema.get("additionalProperties") is not False or set(schema.get("required") or []) != set(properties):
                # Structured outputs' strict mode: every property required, no others allowed.
                raise InvalidRequest(
                    "Invalid schema for response_format: in strict mode 'additionalProperties' must be false and "
                    "'required' must list every property.",
                    "response_format",
                )


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""
