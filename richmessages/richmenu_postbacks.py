"""Taps on rich-menu areas: each is recorded as an analytics event, then answered as its area says.

Areas send ``action=richmenu&m=<menu id>&a=<area name>`` (see ``richmessages.richmenu_areas``). A postback area's
own data (``action=help``) is then routed like any button tap; a switch area needs no answer unless LINE could not
switch. A tap on a menu or area that no longer exists gets a polite answer, never an error.
"""

from __future__ import annotations

from analytics.models import Event
from analytics.services import event_record
from conversations.outcome import Outcome
from conversations.postbacks import PostbackRequest, postback_forward, register
from conversations.texts import text
from core.logging import get_logger
from richmessages.richmenu_areas import POSTBACK_ACTION
from richmessages.richmenu_models import RichMenu

log = get_logger(__name__)

SWITCH_SUCCEEDED = "SUCCESS"


@register(POSTBACK_ACTION)
def richmenu_tap(request: PostbackRequest) -> list[dict] | Outcome | None:
    menu_id, area_name = request.params.get("m", ""), request.params.get("a", "")
    menu = RichMenu.objects.filter(pk=int(menu_id)).first() if menu_id.isdigit() and len(menu_id) < 19 else None
    area = menu.area(area_name) if menu is not None else None
    action = area.get("action") if isinstance(area, dict) and isinstance(area.get("action"), dict) else {}
    props = {"menu_id": menu.pk if menu else None, "menu": menu.name if menu else "", "kind": action.get("type", "")}
    if request.picker.get("newRichMenuAliasId"):
        props["switched_to"] = request.picker["newRichMenuAliasId"]
        props["switch_status"] = request.picker.get("status", "")
    if area is None:
        props["unknown"] = True
    event_record(type=Event.Type.RICHMENU_TAP, line_user=request.user, button=area_name, props=props)
    if area is None:
        log.info("rich_menu_tap_unknown", menu_id=menu_id, area=area_name)
        return _polite(request)
    if action.get("type") == "postback":
        return postback_forward(request, str(action.get("data") or ""))
    if action.get("type") == "richmenuswitch":
        status = request.picker.get("status", SWITCH_SUCCEEDED)
        return None if status == SWITCH_SUCCEEDED else _polite(request)
    return None


def _polite(request: PostbackRequest) -> list[dict]:
    return [{"type": "text", "text": text("postback_unknown", request.user.language if request.user else "")}]
