"""The hero image of a template version: its title and body composed on its background, read from storage.

::

    image = compose_copy(version, title=title, body=body)

The background is read as its working copy when it has one (richmessages.backgrounds), so that composing does not
decode a large original; without one, or with one the composer cannot use, the original gives the same image.
"""

from __future__ import annotations

from core.errors import ConflictError
from core.logging import get_logger
from richmessages import backgrounds
from richmessages.composer import ComposedImage, UnusableWorkingCopy, compose
from richmessages.layout import TextArea
from richmessages.metadata import Problems
from richmessages.models import RichTemplateVersion

log = get_logger(__name__)


def compose_copy(version: RichTemplateVersion, *, title: str, body: str) -> ComposedImage:
    """The hero image of ``title`` and ``body`` on the version's background; ValidationError for a bad area,
    ConflictError when the background is missing from storage."""
    size = (version.width, version.height)
    problems = Problems()
    title_area = problems.collect(TextArea.from_dict, version.title_area, field="title_area", image_size=size)
    body_area = problems.collect(TextArea.from_dict, version.body_area, field="body_area", image_size=size)
    problems.raise_if_any()
    texts = {"title_area": title_area, "body_area": body_area, "title": title, "body": body}
    data, working_copy = _background(version, use_working_copy=True)
    try:
        return compose(background=data, working_copy=working_copy, **texts)
    except UnusableWorkingCopy as error:
        log.warning("rich_background_working_copy_unusable", background=version.background.name, reason=str(error))
        return compose(background=_background(version, use_working_copy=False)[0], **texts)


def _background(version: RichTemplateVersion, *, use_working_copy: bool) -> tuple[bytes, bool]:
    try:
        return backgrounds.composition_source(
            name=version.background.name,
            sha256=version.background_sha256,
            width=version.width,
            height=version.height,
            use_working_copy=use_working_copy,
        )
    except FileNotFoundError:
        raise ConflictError(
            f"The background of {version.template} version {version.number} is missing from storage.",
            details={"template": [f"version {version.number} has no background file"]},
        ) from None
