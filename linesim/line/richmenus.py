"""Rich menus: CRUD, image upload and download, per-user links, aliases and the default menu."""

from __future__ import annotations

import io
import secrets
from typing import Any

from aiohttp import web
from PIL import Image, UnidentifiedImageError

from linesim.line.app import Call, LineDouble, error, json_response
from linesim.line.state import Content, RichMenu

REQUIRED_FIELDS = ("size", "selected", "name", "chatBarText", "areas")
IMAGE_TYPES = ("image/jpeg", "image/png")
MAX_IMAGE_BYTES = 1024 * 1024
MAX_AREAS = 20
MIN_WIDTH, MAX_WIDTH, MIN_HEIGHT = 800, 2500, 250
# Width divided by height, for the menu's size and for its image alike.
MIN_ASPECT_RATIO = 1.45
NOT_FOUND = "Not found"


def _size_problem(width: int, height: int) -> str | None:
    if not (MIN_WIDTH <= width <= MAX_WIDTH and height >= MIN_HEIGHT):
        return f"width must be between {MIN_WIDTH} and {MAX_WIDTH}, height at least {MIN_HEIGHT}"
    if width / height < MIN_ASPECT_RATIO:
        return f"the aspect ratio (width / height) must be at least {MIN_ASPECT_RATIO}"
    return None


def _rules_violation(body: dict[str, Any]) -> web.Response | None:
    """LINE's rich-menu rules beyond the spec: every field present, 800 to 2500 px wide, ≥250 px high, a width /
    height of at least 1.45, ≤20 areas."""
    details = [{"message": "must be specified", "property": name} for name in REQUIRED_FIELDS if name not in body]
    size = body.get("size") or {}
    problem = _size_problem(size.get("width", 0), size.get("height", 0) or 1) if "size" in body else None
    if problem:
        details.append({"message": problem, "property": "size"})
    if len(body.get("areas") or []) > MAX_AREAS:
        details.append({"message": f"Size must be between 0 and {MAX_AREAS}", "property": "areas"})
    if details:
        return error(400, f"The request body has {len(details)} error(s)", details)
    return None


def _menu(double: LineDouble, rich_menu_id: str) -> RichMenu | None:
    return double.state.rich_menus.get(rich_menu_id)


def _describe(menu: RichMenu) -> dict[str, Any]:
    return {"richMenuId": menu.rich_menu_id, **menu.body}


async def create(double: LineDouble, call: Call) -> web.Response:
    refused = _rules_violation(call.body)
    if refused is not None:
        return refused
    rich_menu_id = "richmenu-" + secrets.token_hex(16)
    double.state.rich_menus[rich_menu_id] = RichMenu(rich_menu_id=rich_menu_id, body=call.body)
    return json_response(200, {"richMenuId": rich_menu_id})


async def validate(double: LineDouble, call: Call) -> web.Response:
    return _rules_violation(call.body) or json_response(200, {})


async def get(double: LineDouble, call: Call) -> web.Response:
    menu = _menu(double, call.params["richMenuId"])
    if menu is None:
        return error(404, NOT_FOUND)
    return json_response(200, _describe(menu))


async def delete(double: LineDouble, call: Call) -> web.Response:
    state = double.state
    rich_menu_id = call.params["richMenuId"]
    if state.rich_menus.pop(rich_menu_id, None) is None:
        return error(404, NOT_FOUND)
    state.user_menus = {user: menu for user, menu in state.user_menus.items() if menu != rich_menu_id}
    if state.default_menu == rich_menu_id:
        state.default_menu = None
    return json_response(200, {})


async def list_menus(double: LineDouble, call: Call) -> web.Response:
    return json_response(200, {"richmenus": [_describe(menu) for menu in double.state.rich_menus.values()]})


async def upload_image(double: LineDouble, call: Call) -> web.Response:
    menu = _menu(double, call.params["richMenuId"])
    if menu is None:
        return error(404, NOT_FOUND)
    content_type = call.request.content_type
    if content_type not in IMAGE_TYPES:
        return error(415, "Unsupported media type: use image/jpeg or image/png")
    data = await call.request.read()
    if not data:
        return error(400, "The request body is empty")
    if len(data) > MAX_IMAGE_BYTES:
        return error(400, "The image must be 1 MB or smaller")
    if menu.image is not None:
        return error(400, "An image has already been uploaded to the richmenu")
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError):
        return error(400, "The image could not be read")
    problem = _size_problem(width, height)
    if problem:
        return error(400, f"Invalid image size: {problem}")
    menu.image = Content(data=data, content_type=content_type)
    return json_response(200, {})


async def download_image(double: LineDouble, call: Call) -> web.Response:
    menu = _menu(double, call.params["richMenuId"])
    if menu is None or menu.image is None:
        return error(404, NOT_FOUND)
    return web.Response(status=200, body=menu.image.data, content_type=menu.image.content_type)


def _usable_menu(double: LineDouble, rich_menu_id: str) -> web.Response | None:
    menu = _menu(double, rich_menu_id)
    if menu is None:
        return error(404, NOT_FOUND)
    if menu.image is None:
        return error(400, "must upload richmenu image before applying it to user")
    return None


async def set_default(double: LineDouble, call: Call) -> web.Response:
    refused = _usable_menu(double, call.params["richMenuId"])
    if refused is not None:
        return refused
    double.state.default_menu = call.params["richMenuId"]
    return json_response(200, {})


async def get_default(double: LineDouble, call: Call) -> web.Response:
    if double.state.default_menu is None:
        return error(404, "no default richmenu")
    return json_response(200, {"richMenuId": double.state.default_menu})


async def cancel_default(double: LineDouble, call: Call) -> web.Response:
    double.state.default_menu = None
    return json_response(200, {})


async def link_user(double: LineDouble, call: Call) -> web.Response:
    refused = _usable_menu(double, call.params["richMenuId"])
    if refused is not None:
        return refused
    double.state.user_menus[call.params["userId"]] = call.params["richMenuId"]
    call.targets = [call.params["userId"]]
    return json_response(200, {})


async def get_user_menu(double: LineDouble, call: Call) -> web.Response:
    rich_menu_id = double.state.user_menus.get(call.params["userId"])
    if rich_menu_id is None:
        return error(404, "the user has no richmenu")
    return json_response(200, {"richMenuId": rich_menu_id})


async def unlink_user(double: LineDouble, call: Call) -> web.Response:
    double.state.user_menus.pop(call.params["userId"], None)
    call.targets = [call.params["userId"]]
    return json_response(200, {})


async def bulk_link(double: LineDouble, call: Call) -> web.Response:
    refused = _usable_menu(double, call.body["richMenuId"])
    if refused is not None:
        return refused
    for user_id in call.body["userIds"]:
        double.state.user_menus[user_id] = call.body["richMenuId"]
    call.targets = list(call.body["userIds"])
    return json_response(202, {})


async def bulk_unlink(double: LineDouble, call: Call) -> web.Response:
    for user_id in call.body["userIds"]:
        double.state.user_menus.pop(user_id, None)
    call.targets = list(call.body["userIds"])
    return json_response(202, {})


async def create_alias(double: LineDouble, call: Call) -> web.Response:
    alias, rich_menu_id = call.body["richMenuAliasId"], call.body["richMenuId"]
    if _menu(double, rich_menu_id) is None:
        return error(400, "richmenu not found")
    if alias in double.state.aliases:
        return error(400, "conflict richmenu alias id")
    double.state.aliases[alias] = rich_menu_id
    return json_response(200, {})


async def get_alias(double: LineDouble, call: Call) -> web.Response:
    alias = call.params["richMenuAliasId"]
    if alias not in double.state.aliases:
        return error(404, NOT_FOUND)
    return json_response(200, {"richMenuAliasId": alias, "richMenuId": double.state.aliases[alias]})


async def update_alias(double: LineDouble, call: Call) -> web.Response:
    alias, rich_menu_id = call.params["richMenuAliasId"], call.body["richMenuId"]
    if alias not in double.state.aliases:
        return error(404, NOT_FOUND)
    if _menu(double, rich_menu_id) is None:
        return error(400, "richmenu not found")
    double.state.aliases[alias] = rich_menu_id
    return json_response(200, {})


async def delete_alias(double: LineDouble, call: Call) -> web.Response:
    if double.state.aliases.pop(call.params["richMenuAliasId"], None) is None:
        return error(404, NOT_FOUND)
    return json_response(200, {})


async def list_aliases(double: LineDouble, call: Call) -> web.Response:
    aliases = [{"richMenuAliasId": alias, "richMenuId": menu} for alias, menu in double.state.aliases.items()]
    return json_response(200, {"aliases": aliases})


ROUTES = [
    ("POST", "/v2/bot/richmenu", create),
    ("POST", "/v2/bot/richmenu/validate", validate),
    ("GET", "/v2/bot/richmenu/list", list_menus),
    ("GET", "/v2/bot/richmenu/{richMenuId}", get),
    ("DELETE", "/v2/bot/richmenu/{richMenuId}", delete),
    ("POST", "/v2/bot/richmenu/{richMenuId}/content", upload_image),
    ("GET", "/v2/bot/richmenu/{richMenuId}/content", download_image),
    ("POST", "/v2/bot/user/all/richmenu/{richMenuId}", set_default),
    ("GET", "/v2/bot/user/all/richmenu", get_default),
    ("DELETE", "/v2/bot/user/all/richmenu", cancel_default),
    ("POST", "/v2/bot/user/{userId}/richmenu/{richMenuId}", link_user),
    ("GET", "/v2/bot/user/{userId}/richmenu", get_user_menu),
    ("DELETE", "/v2/bot/user/{userId}/richmenu", unlink_user),
    ("POST", "/v2/bot/richmenu/bulk/link", bulk_link),
    ("POST", "/v2/bot/richmenu/bulk/unlink", bulk_unlink),
    ("POST", "/v2/bot/richmenu/alias", create_alias),
    ("GET", "/v2/bot/richmenu/alias/list", list_aliases),
    ("GET", "/v2/bot/richmenu/alias/{richMenuAliasId}", get_alias),
    ("POST", "/v2/bot/richmenu/alias/{richMenuAliasId}", update_alias),
    ("DELETE", "/v2/bot/richmenu/alias/{richMenuAliasId}", delete_alias),
]
