"""Composed hero images, stored once under their SHA-256: ``rich/composed/<sha256>.<jpg|png>``.

The same inputs compose the same bytes (richmessages.composer), so the same message built twice shares one file
and URL; a changed message is other bytes, hence a new name and URL. A stored name never gets other content.
"""

from __future__ import annotations

import base64

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from richmessages import hosting
from richmessages.backgrounds import Stored
from richmessages.composer import ComposedImage

DIRECTORY = "rich/composed"


def name_of(image: ComposedImage) -> str:
    return f"{DIRECTORY}/{image.sha256}.{image.extension}"


def store(image: ComposedImage) -> Stored:
    storage = default_storage
    name = name_of(image)
    hosting.path(name)  # a name the public view will serve, or ValueError
    if storage.exists(name):
        return Stored(name=name, created=False)
    saved = storage.save(name, ContentFile(image.data))
    if saved != name:
        # The same image was stored meanwhile by another build; keep that one.
        storage.delete(saved)
        return Stored(name=name, created=False)
    return Stored(name=name, created=True)


def data_url(image: ComposedImage) -> str:
    """The image inline, for a preview that stores nothing."""
    return f"data:{image.content_type};base64,{base64.b64encode(image.data).decode()}"
