"""Which rich menu each LINE user sees: links set by staff, applied on LINE by the sync (500 users per call)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from accounts import audit
from accounts.models import AuditEvent
from conversations.models import LineUser
from core.errors import ValidationError
from core.line.client import get_line_client
from richmessages.richmenu_areas import LINE_USER_ID_VALIDATOR
from richmessages.richmenu_models import RichMenu, RichMenuUserLink
from richmessages.richmenu_sync import links_unlink_on_line

_SHOWN_UNKNOWN = 10


def line_user_ids_parse(text: str) -> list[str]:
    """LINE user ids from pasted text (one per line, or separated by commas or spaces), in order, once each."""
    ids = []
    for token in text.replace(",", " ").split():
        if token not in ids:
            ids.append(token)
    malformed = [token for token in ids if not _is_line_user_id(token)]
    if malformed:
        raise ValidationError(
            f"These are not LINE user ids (U followed by 32 hex digits): {', '.join(malformed[:_SHOWN_UNKNOWN])}"
            + (f" and {len(malformed) - _SHOWN_UNKNOWN} more." if len(malformed) > _SHOWN_UNKNOWN else "."),
            details={"field": "line_user_ids"},
        )
    return ids


def _is_line_user_id(value: str) -> bool:
    try:
        LINE_USER_ID_VALIDATOR(value)
    except DjangoValidationError:
        return False
    return True


def richmenu_users_link(*, menu: RichMenu, line_user_ids: list[str], actor=None, request=None) -> int:
    """Links ``menu`` to these users (replacing any menu they had); the menu's sync tells LINE.

    Every id must be a LINE user we know, else nothing is stored.
    """
    if not menu.active:
        raise ValidationError(f"The rich menu {menu} is inactive; activate it before linking users to it.")
    if not line_user_ids:
        raise ValidationError("No LINE users to link.", details={"field": "line_user_ids"})
    users = dict(LineUser.objects.filter(line_user_id__in=line_user_ids).values_list("line_user_id", "pk"))
    unknown = [user_id for user_id in line_user_ids if user_id not in users]
    if unknown:
        more = f" and {len(unknown) - _SHOWN_UNKNOWN} more" if len(unknown) > _SHOWN_UNKNOWN else ""
        raise ValidationError(
            f"No LINE user is known by these ids: {', '.join(unknown[:_SHOWN_UNKNOWN])}{more}. Nothing was linked.",
            details={"field": "line_user_ids", "unknown": unknown[:100]},
        )
    with transaction.atomic():
        RichMenuUserLink.objects.bulk_create(
            [RichMenuUserLink(line_user_id=pk, menu=menu) for pk in users.values()],
            update_conflicts=True,
            unique_fields=["line_user"],
            update_fields=["menu", "updated_at"],
            batch_size=1000,
        )
        audit.record(
            action=AuditEvent.Action.RICH_MENU_USERS_LINKED,
            actor=actor,
            request=request,
            target=f"richmessages.richmenu:{menu.pk} {menu}",
            details={"count": len(users), "line_user_ids": line_user_ids[:50]},
        )
    return len(users)


def richmenu_users_unlink(*, line_user_ids: list[str], actor=None, request=None) -> int:
    """Takes these users' own menus away (they see the default again); ``richmenu_unlinks_sync`` tells LINE."""
    with transaction.atomic():
        count = RichMenuUserLink.objects.filter(line_user__line_user_id__in=line_user_ids).update(menu=None)
        audit.record(
            action=AuditEvent.Action.RICH_MENU_USERS_LINKED,
            actor=actor,
            request=request,
            target="richmessages.richmenuuserlink:unlink",
            details={"count": count, "unlinked": True, "line_user_ids": line_user_ids[:50]},
        )
    return count


def richmenu_unlinks_sync() -> int:
    """Unlinks on LINE the users whose menu was taken away, then forgets their rows; returns the calls made."""
    pending = RichMenuUserLink.objects.filter(menu__isnull=True)
    calls = links_unlink_on_line(get_line_client(), pending)
    # A user linked again meanwhile has a menu now and is left alone.
    RichMenuUserLink.objects.filter(menu__isnull=True, line_rich_menu_id="").delete()
    return calls
