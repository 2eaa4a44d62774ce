"""Saving rich menus as staff edit them; LINE is brought in line afterwards by the sync task."""

from __future__ import annotations

from django.db import transaction

from richmessages.richmenu_images import CheckedImage
from richmessages.richmenu_models import RichMenu


def richmenu_save(*, menu: RichMenu, image: CheckedImage | None, actor=None) -> list[int]:
    """Saves ``menu`` (with its new image, if any); returns the ids of the menus whose sync is now due.

    Making a menu the default takes the flag from the menu that had it, which is then synced too.
    """
    with transaction.atomic():
        if image is not None:
            # Content-addressed: the same image is stored once, and a changed one never overwrites another.
            name = f"rich/menus/{image.sha256}.{image.extension}"
            storage = menu.image.storage
            if not storage.exists(name):
                name = storage.save(name, image.as_file())
            menu.image = name
            menu.image_sha256 = image.sha256
            menu.image_content_type = image.content_type
            menu.image_width, menu.image_height = image.width, image.height
        if menu.created_by_id is None and actor is not None and getattr(actor, "pk", None):
            menu.created_by = actor
        due = []
        if menu.is_default:
            others = RichMenu.objects.select_for_update().filter(is_default=True).exclude(pk=menu.pk)
            due = list(others.values_list("pk", flat=True))
            others.update(is_default=False)
        menu.save()
    return [menu.pk, *due]
