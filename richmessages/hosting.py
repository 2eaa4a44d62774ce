"""Public, content-addressed URLs of rich-message images (backgrounds and composed hero images).

LINE's apps fetch a hero image when a chat shows it, sometimes days after the message was sent,
so every image stays at a URL that names its SHA-256 and answers forever with the same bytes:
``<PUBLIC_BASE_URL>/media/rich/<backgrounds|composed>/<sha256>.<jpg|png>``. Nothing else under
``/media/`` answers: no listing, no other names.

The bytes are read through ``STORAGES["default"]``, so any django-storages backend works. With
``RICH_IMAGES_REDIRECT`` on, the view instead redirects to the backend's own URL (for a bucket or
CDN that serves public files itself); the URL handed to LINE stays ours either way.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    HttpResponse,
    HttpResponseNotFound,
    HttpResponseNotModified,
    HttpResponseRedirect,
)
from django.urls import reverse
from django.views.decorators.http import require_safe

NAME_PATTERN = r"rich/(?:backgrounds|composed)/(?P<sha256>[0-9a-f]{64})\.(?P<extension>jpg|png)"
_NAME = re.compile(NAME_PATTERN)
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
CACHE_FOREVER = "public, max-age=31536000, immutable"
# A redirect target may be a signed URL that expires; it is asked for again after this.
REDIRECT_CACHE = "public, max-age=300"


def _checked(name: str) -> re.Match:
    match = _NAME.fullmatch(name or "")
    if match is None:
        raise ValueError(f"not a rich image name: {name!r}")
    return match


def path(name: str) -> str:
    """The URL path of a stored rich image (``/media/rich/...``), for pages on our own host such as the admin."""
    _checked(name)
    return reverse("rich-image", kwargs={"name": name})


def public_url(name: str) -> str:
    """The absolute URL (HTTPS in production) at which LINE fetches the stored image ``name``.

    ``name`` is the storage name, e.g. ``version.background.name`` or ``message.image.name``
    (``rich/backgrounds/<sha256>.png``, ``rich/composed/<sha256>.jpg``); anything else raises ValueError.
    """
    return settings.PUBLIC_BASE_URL.rstrip("/") + path(name)


def _not_found() -> HttpResponse:
    # Not cached: the name may be an image that is being stored right now.
    response = HttpResponseNotFound("Not found.", content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def serve(request, name: str) -> HttpResponse:
    match = _NAME.fullmatch(name)
    if match is None:
        return _not_found()
    storage = default_storage
    # Checked first: some backends open lazily and would fail only while streaming.
    if not storage.exists(name):
        return _not_found()
    if settings.RICH_IMAGES_REDIRECT:
        response = HttpResponseRedirect(storage.url(name))
        response["Cache-Control"] = REDIRECT_CACHE
        return response

    etag = f'"{match["sha256"]}"'
    if_none_match = request.headers.get("If-None-Match", "")
    if etag in {tag.strip() for tag in if_none_match.split(",")} or if_none_match.strip() == "*":
        response = HttpResponseNotModified()
    else:
        try:
            file = storage.open(name, "rb")
        except FileNotFoundError:
            return _not_found()
        response = FileResponse(file, content_type=CONTENT_TYPES[match["extension"]])
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_FOREVER
    return response
