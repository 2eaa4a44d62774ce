"""Writes of the template library: create, edit, approve, archive. Each is audited.

Content editors create and edit; an Operator or Administrator (``richmessages.approve_richtemplate``)
other than the version's author approves. A draft version is edited in place; editing an approved
(or archived) version makes a new draft, so whatever was built from a version keeps pointing at
exactly what it used.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts import audit
from accounts.models import AuditEvent
from core.errors import ConflictError, PermissionDeniedError
from richmessages import backgrounds
from richmessages import metadata as meta
from richmessages.metadata import Problems
from richmessages.models import RichTemplate, RichTemplateVersion
from richmessages.validation import text_is_storable

ADD_PERMISSION = "richmessages.add_richtemplate"
CHANGE_PERMISSION = "richmessages.change_richtemplate"
APPROVE_PERMISSION = "richmessages.approve_richtemplate"
NAME_MAX_CHARS = 200
SLUG_MAX_CHARS = 100


def _require(user, *permissions: str, doing: str) -> None:
    """The user holds at least one of ``permissions``."""
    if user is None or not getattr(user, "is_active", False):
        raise PermissionDeniedError(f"Only an active staff user may {doing}.")
    if not any(user.has_perm(permission) for permission in permissions):
        raise PermissionDeniedError(f"You may not {doing}.")


def _clean_name(problems: Problems, name: Any) -> str:
    if not isinstance(name, str) or not text_is_storable(name):
        problems.add("name", "must be text")
        return ""
    name = name.strip()
    if not name:
        problems.add("name", "is required")
    elif len(name) > NAME_MAX_CHARS:
        problems.add("name", f"must be at most {NAME_MAX_CHARS} characters")
    return name


def _available_slug(base: str) -> str:
    base = base[: SLUG_MAX_CHARS - 6].strip("-") or "template"
    slug, number = base, 2
    while RichTemplate.objects.filter(slug=slug).exists():
        slug = f"{base}-{number}"
        number += 1
    return slug


def _clean_slug(problems: Problems, slug: Any, name: str) -> str:
    if slug is None or slug == "":
        # Thai or Japanese names have no ASCII letters to slugify; the fallback is numbered.
        return _available_slug(slugify(name))
    if not isinstance(slug, str) or slugify(slug) != slug or len(slug) > SLUG_MAX_CHARS:
        problems.add("slug", f"must be 1 to {SLUG_MAX_CHARS} lower-case letters, digits, hyphens or underscores")
    elif RichTemplate.objects.filter(slug=slug).exists():
        problems.add("slug", f"{slug!r} is taken by another template")
    return slug if isinstance(slug, str) else ""


def _inspect_image(image) -> tuple[Any, backgrounds.Background]:
    image = backgrounds.as_file(image)
    return image, backgrounds.inspect(image)


def rich_template_create(
    *,
    name: str,
    slug: str | None = None,
    image,
    metadata: dict | str | None = None,
    author,
    request=None,
) -> RichTemplate:
    """A new template with version 1 as a draft. ``metadata`` is in our field names or the upstream shape
    (see ``richmessages.metadata``). A bad value raises ValidationError naming each field and stores nothing."""
    _require(author, ADD_PERMISSION, doing="create rich templates")
    problems = Problems()
    name = _clean_name(problems, name)
    slug = _clean_slug(problems, slug, name)
    given = problems.collect(meta.parse, metadata)
    inspected = problems.collect(_inspect_image, image)
    problems.raise_if_any()
    image, background = inspected
    fields = meta.clean(given, image_width=background.width, image_height=background.height)

    stored = backgrounds.store(image, background)
    try:
        with transaction.atomic():
            template = RichTemplate.objects.create(name=name, slug=slug, created_by=author)
            version = RichTemplateVersion.objects.create(
                template=template,
                number=1,
                background=stored.name,
                background_sha256=background.sha256,
                width=background.width,
                height=background.height,
                author=author,
                **fields,
            )
            audit.record(
                action=AuditEvent.Action.RICH_TEMPLATE_CREATED,
                actor=author,
                target=f"rich_template:{template.pk}",
                details={"slug": slug, "name": name, "version": version.number, "background": stored.name},
                request=request,
            )
    except IntegrityError:
        backgrounds.discard(stored)
        # Two uploads chose the same slug at once.
        raise meta.problems_error({"slug": [f"{slug!r} is taken by another template"]}) from None
    except BaseException:
        backgrounds.discard(stored)
        raise
    return template


def _locked(version: RichTemplateVersion) -> tuple[RichTemplate, RichTemplateVersion]:
    template = RichTemplate.objects.select_for_update().get(pk=version.template_id)
    return template, RichTemplateVersion.objects.get(pk=version.pk)


def _background_fields(version: RichTemplateVersion) -> dict[str, Any]:
    return {
        "background": version.background.name,
        "background_sha256": version.background_sha256,
        "width": version.width,
        "height": version.height,
    }


def rich_template_version_update(
    *, version: RichTemplateVersion, changes: dict[str, Any], actor, request=None
) -> RichTemplateVersion:
    """Applies ``changes`` (metadata fields in our names or the upstream shape, and optionally ``image``).

    A draft is changed in place and returned. An approved or archived version is left as it is and a
    new draft, numbered after the template's newest version, is returned with the changes applied to a
    copy of it (with no changes, a plain copy to edit).
    """
    _require(actor, CHANGE_PERMISSION, doing="edit rich templates")
    if not isinstance(changes, dict):
        raise meta.problems_error({"changes": ["must be an object"]})
    changes = dict(changes)
    image = changes.pop("image", None)
    problems = Problems()
    given = problems.collect(meta.parse, changes, field="changes")
    inspected = problems.collect(_inspect_image, image) if image is not None else None
    problems.raise_if_any()

    stored = None
    try:
        with transaction.atomic():
            template, version = _locked(version)
            if template.archived_at is not None:
                raise ConflictError(f"The template {template.slug!r} is archived; it can no longer be edited.")
            before = {**meta.of_version(version), **_background_fields(version)}
            width, height = (inspected[1].width, inspected[1].height) if inspected else (version.width, version.height)
            after = {
                **_background_fields(version),
                **meta.clean({**meta.of_version(version), **given}, image_width=width, image_height=height),
            }
            if inspected is not None:
                image, background = inspected
                stored = backgrounds.store(image, background)
                after.update(
                    background=stored.name,
                    background_sha256=background.sha256,
                    width=background.width,
                    height=background.height,
                )
            changed = sorted(key for key in after if before[key] != after[key])

            if version.is_editable:
                if not changed:
                    return version
                for key in changed:
                    setattr(version, key, after[key])
                version.save()
                result, details = version, {"version": version.number, "changed": changed}
            else:
                number = template.versions.order_by("-number").values_list("number", flat=True).first() + 1
                result = RichTemplateVersion.objects.create(template=template, number=number, author=actor, **after)
                details = {"version": result.number, "from_version": version.number, "changed": changed}
            audit.record(
                action=AuditEvent.Action.RICH_TEMPLATE_UPDATED,
                actor=actor,
                target=f"rich_template:{template.pk}",
                details={"slug": template.slug, **details},
                request=request,
            )
    except BaseException:
        if stored is not None:
            backgrounds.discard(stored)
        raise
    return result


def rich_template_approve(*, version: RichTemplateVersion, approver, request=None) -> RichTemplateVersion:
    """Approves a draft. Only holders of ``approve_richtemplate`` who did not write the version may;
    the template's previously approved version becomes archived."""
    _require(approver, APPROVE_PERMISSION, doing="approve rich templates")
    with transaction.atomic():
        template, version = _locked(version)
        if version.author_id is not None and version.author_id == approver.pk:
            raise PermissionDeniedError("You wrote this version; someone else must approve it.")
        if template.archived_at is not None:
            raise ConflictError(f"The template {template.slug!r} is archived; it can no longer be approved.")
        if version.status != RichTemplateVersion.Status.DRAFT:
            raise ConflictError(f"Version {version.number} is {version.status}; only a draft can be approved.")
        now = timezone.now()
        replaced = list(
            template.versions.filter(status=RichTemplateVersion.Status.APPROVED).values_list("number", flat=True)
        )
        template.versions.filter(status=RichTemplateVersion.Status.APPROVED).update(
            status=RichTemplateVersion.Status.ARCHIVED, updated_at=now
        )
        version.status = RichTemplateVersion.Status.APPROVED
        version.approved_by = approver
        version.approved_at = now
        version.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
        audit.record(
            action=AuditEvent.Action.RICH_TEMPLATE_APPROVED,
            actor=approver,
            target=f"rich_template:{template.pk}",
            details={
                "slug": template.slug,
                "version": version.number,
                "author": version.author.username if version.author else None,
                "archived_versions": replaced,
            },
            request=request,
        )
    return version


def rich_template_archive(*, template: RichTemplate, actor, request=None) -> RichTemplate:
    """Takes a template out of use: it builds no new message, and its versions become archived.

    Messages already built keep their version. Archiving an archived template changes nothing.
    Editors (``change_richtemplate``) and approvers (``approve_richtemplate``) may archive.
    """
    _require(actor, CHANGE_PERMISSION, APPROVE_PERMISSION, doing="archive rich templates")
    with transaction.atomic():
        template = RichTemplate.objects.select_for_update().get(pk=template.pk)
        if template.archived_at is not None:
            return template
        now = timezone.now()
        open_versions = template.versions.exclude(status=RichTemplateVersion.Status.ARCHIVED)
        numbers = sorted(open_versions.values_list("number", flat=True))
        open_versions.update(status=RichTemplateVersion.Status.ARCHIVED, updated_at=now)
        template.archived_at = now
        template.save(update_fields=["archived_at"])
        audit.record(
            action=AuditEvent.Action.RICH_TEMPLATE_ARCHIVED,
            actor=actor,
            target=f"rich_template:{template.pk}",
            details={"slug": template.slug, "archived_versions": numbers},
            request=request,
        )
    return template
