"""Makes the missing working copies of the stored template backgrounds (see richmessages.backgrounds).

    python manage.py rich_background_working_copies

Backgrounds uploaded since working copies exist got theirs at upload; this makes them for the ones stored before,
once after deploying. Until then those compose from their originals, with the same result, only slower the first
time in each worker. Each background is read once however many versions share it; running the command again is
safe and makes nothing new. A background missing from storage, or changed since it was stored (its SHA-256 no
longer matches), is reported and left alone.
"""

from __future__ import annotations

import hashlib

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand

from richmessages import backgrounds
from richmessages.models import RichTemplateVersion


class Command(BaseCommand):
    help = "Makes the missing working copies of rich-message template backgrounds."

    def handle(self, *args, **options):
        counts = {"made": 0, "present": 0, "small": 0, "missing": 0, "changed": 0, "unusable": 0}
        rows = (
            RichTemplateVersion.objects.order_by("background_sha256")
            .values_list("background", "background_sha256", "width", "height")
            .distinct()
        )
        seen = set()
        for name, sha256, width, height in rows:
            if sha256 in seen:
                continue
            seen.add(sha256)
            outcome = self._make(name, sha256, width, height)
            counts[outcome] += 1
            if outcome in ("missing", "changed", "unusable"):
                self.stderr.write(f"{outcome:<9} {name}")
        self.stdout.write(
            f"Made {counts['made']} working copies; {counts['present']} were there, {counts['small']} backgrounds "
            f"need none; {counts['missing']} missing, {counts['changed']} changed, {counts['unusable']} unusable."
        )

    def _make(self, name: str, sha256: str, width: int, height: int) -> str:
        if not backgrounds.has_working_copy(width=width, height=height):
            return "small"
        if default_storage.exists(backgrounds.working_copy_name(sha256)):
            return "present"
        try:
            with default_storage.open(name, "rb") as file:
                data = file.read()
        except FileNotFoundError:
            return "missing"
        if hashlib.sha256(data).hexdigest() != sha256:
            return "changed"
        if backgrounds.working_copy_store(data=data, sha256=sha256, width=width, height=height):
            return "made"
        # Another process may have stored it meanwhile.
        return "present" if default_storage.exists(backgrounds.working_copy_name(sha256)) else "unusable"
