"""Tracked links: ``/r/<code>`` records a LINK_CLICK and redirects at once to the link's target.

LINE counts URL opens only in aggregate; our redirect knows the link, its rich message and campaign and, when
the URL carries ``?u=<token>`` (signed, made by :func:`tracked_link_url` for one user), the user. A multicast
message is the same for every recipient, so its links carry no user; a click on it is then anonymous unless the
recipient is known some other way. Only http(s) targets are accepted. Image URLs are never rewritten.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core import signing
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET

from analytics.models import Event, TrackedLink
from analytics.services import event_record
from conversations.models import LineUser
from core.errors import ValidationError
from core.logging import get_logger

log = get_logger(__name__)

_SALT = "analytics.tracked-link.user"
CODE_MAX = 16


def tracked_link_prepare(*, target_url: str, campaign_id: int | None = None, rich_message=None) -> TrackedLink:
    """A new tracked link to ``target_url`` (http or https, at most 2,000 characters), not saved yet: its URL is
    known before the message that carries it is stored. Raises ValidationError naming ``link``."""
    target_url = (target_url or "").strip()
    parts = urlsplit(target_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("link: only http and https URLs can be tracked", details={"link": ["http(s) only"]})
    if len(target_url) > 2000:
        raise ValidationError("link: at most 2,000 characters", details={"link": ["at most 2,000 characters"]})
    return TrackedLink(
        code=secrets.token_urlsafe(9), target_url=target_url, campaign_id=campaign_id, rich_message=rich_message
    )


def tracked_link_create(*, target_url: str, campaign_id: int | None = None, rich_message=None) -> TrackedLink:
    link = tracked_link_prepare(target_url=target_url, campaign_id=campaign_id, rich_message=rich_message)
    link.save(force_insert=True)
    return link


def tracked_link_url(link: TrackedLink, *, line_user: LineUser | None = None) -> str:
    """The public URL of ``link``; with ``line_user``, signed for that user so the click is theirs."""
    url = f"{settings.PUBLIC_BASE_URL.rstrip('/')}/r/{link.code}"
    if line_user is not None:
        url += "?" + urlencode({"u": signing.dumps(line_user.pk, salt=_SALT, compress=True)})
    return url


def _user_of(token: str) -> LineUser | None:
    if not token:
        return None
    try:
        pk = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        log.info("tracked_link_bad_user_token")
        return None
    return LineUser.objects.filter(pk=pk).first() if isinstance(pk, int) else None


@require_GET
def redirect(request, code: str):
    link = TrackedLink.objects.select_related("rich_message").filter(code=code[:CODE_MAX]).first()
    if link is None:
        return render(request, "analytics/link_not_found.html", status=404)
    event_record(
        type=Event.Type.LINK_CLICK,
        line_user=_user_of(request.GET.get("u", "")),
        campaign_id=link.campaign_id,
        rich_message=link.rich_message,
        props={"link": link.code},
    )
    response = HttpResponseRedirect(link.target_url)
    response["Cache-Control"] = "no-store"
    return response
