"""Imports a folder of backgrounds described by a metadata.json in the upstream bot's format.

    {"template_metadata": {"<file name>": {"theme", "mood", "energy_level", "best_for", "time_of_day",
                                           "content_type", "text_areas": {"primary": {x, y, width, height},
                                                                          "secondary": {...}}}}}

Each entry becomes a draft template authored by ``--as``, named after its file (slug: the file name
without extension). An entry whose file is missing or whose values are bad is reported and skipped;
one already imported (same slug, or same image) is skipped, so running the command again is safe.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from core.errors import AppError
from richmessages import metadata, services
from richmessages.models import RichTemplate, RichTemplateVersion

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Command(BaseCommand):
    help = "Imports rich-message backgrounds from a folder with a metadata.json in the upstream bot's format."

    def add_arguments(self, parser):
        parser.add_argument("folder", help="folder holding metadata.json and the images it names")
        parser.add_argument("--as", dest="as_user", required=True, metavar="USERNAME", help="author of the drafts")

    def handle(self, *args, folder, as_user, **options):
        root = Path(folder)
        if not root.is_dir():
            raise CommandError(f"{folder} is not a folder")
        author = get_user_model().objects.filter(username=as_user).first()
        if author is None:
            raise CommandError(f"no user named {as_user!r}")
        if not author.is_active or not author.has_perm(services.ADD_PERMISSION):
            raise CommandError(f"{as_user} may not create rich templates (needs {services.ADD_PERMISSION})")
        entries = self._entries(root / "metadata.json")

        counts = {"imported": 0, "skipped": 0, "missing": 0, "invalid": 0}
        for file_name, entry in entries.items():
            outcome, message = self._import_one(root, file_name, entry, author)
            counts[outcome] += 1
            line = f"{outcome:<9} {file_name}: {message}"
            (self.stdout if outcome in ("imported", "skipped") else self.stderr).write(line)

        described = set(entries)
        for path in sorted(root.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES and path.name not in described:
                self.stdout.write(f"{'ignored':<9} {path.name}: not described in metadata.json")
        entries_word = "entry" if counts["invalid"] == 1 else "entries"
        self.stdout.write(
            f"Imported {counts['imported']}, skipped {counts['skipped']} already imported, "
            f"{counts['missing']} missing file(s), {counts['invalid']} invalid {entries_word}."
        )

    def _entries(self, path: Path) -> dict:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CommandError(f"{path} not found") from None
        except (UnicodeDecodeError, ValueError) as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}") from None
        entries = document.get("template_metadata") if isinstance(document, dict) else None
        if not isinstance(entries, dict):
            raise CommandError(f'{path} has no "template_metadata" object')
        return entries

    def _import_one(self, root: Path, file_name: str, entry, author) -> tuple[str, str]:
        if Path(file_name).name != file_name or file_name in ("", ".", ".."):
            return "invalid", "the name must be a plain file name in the folder"
        path = root / file_name
        if not path.is_file():
            return "missing", "no such file in the folder"
        slug = slugify(path.stem)[:100]
        existing = RichTemplate.objects.filter(slug=slug).first()
        if existing is not None:
            return "skipped", f"already imported as {existing.slug}"
        same_image = RichTemplateVersion.objects.filter(background_sha256=_sha256(path)).select_related("template")
        if same_image.exists():
            return "skipped", f"same image as template {same_image.first().template.slug}"
        try:
            fields = metadata.from_upstream(entry, field="entry")
            with path.open("rb") as file:
                template = services.rich_template_create(
                    name=path.stem.replace("_", " ").replace("-", " ").strip().capitalize() or slug,
                    slug=slug or None,
                    image=File(file, name=file_name),
                    metadata=fields,
                    author=author,
                )
        except AppError as exc:
            return "invalid", exc.message
        return "imported", f"draft template {template.slug}"
