"""Puts a rich menu on LINE, or takes it off, and can be run again after any failure.

Each step is recorded on our rows right after LINE confirms it, and the step about to be tried is recorded
before it is sent, so a rerun continues from the last completed step:

1. create the LINE menu, once LINE's validation accepts it (the name carries a marker; if an answer to a
   creation was lost, LINE's list of menus is searched for the marker before anything is created again, so
   there is never a second menu);
2. upload the image (a 400 on a retry is checked against the image LINE already has);
3. point the aliases at it; 4. make it the default; 5. link the users, 500 per call;
6. delete the LINE menus of earlier versions. A LINE menu can't be changed, image included, so a changed menu is
   a new LINE menu and steps 3 to 5 move everything to it before step 6.

Calls go through ``core.line.client.with_retries`` (429, 5xx and transport errors).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from accounts import audit
from accounts.models import AuditEvent
from core.errors import ConflictError, LineApiError, NotFoundError
from core.line.client import RICH_MENU_BULK_MAX, LineClient, get_line_client, with_retries
from core.logging import get_logger
from richmessages.richmenu_areas import line_object
from richmessages.richmenu_models import RichMenu, RichMenuAlias, RichMenuDeployment, RichMenuUserLink

log = get_logger(__name__)

# Longer than any sync takes; a runner that died frees the menu when its lease runs out.
LEASE = timedelta(minutes=10)


class SyncBusyError(ConflictError):
    code = "rich_menu_sync_busy"
    default_message = "Another sync of this rich menu is running."


@dataclass
class SyncReport:
    menu_id: int
    line_rich_menu_id: str = ""
    steps: list[str] = field(default_factory=list)
    link_calls: int = 0

    def as_details(self) -> dict:
        return {"line_rich_menu_id": self.line_rich_menu_id, "steps": self.steps, "link_calls": self.link_calls}


def richmenu_sync(*, menu_id: int) -> SyncReport:
    """Makes LINE match the menu (or removes it from LINE when inactive); safe to run twice, or after a failure."""
    _lease_take(menu_id)
    report = SyncReport(menu_id=menu_id)
    menu = RichMenu.objects.get(pk=menu_id)
    try:
        if menu.active:
            _deploy(get_line_client(), menu, report)
        else:
            _withdraw(get_line_client(), menu, report)
    except LineApiError as exc:
        error = _describe(exc)
        RichMenu.objects.filter(pk=menu_id).update(sync_error=error, sync_lease_until=None)
        _audit(menu, report, outcome="failed", error=error)
        raise
    except BaseException:
        RichMenu.objects.filter(pk=menu_id).update(sync_lease_until=None)
        raise
    RichMenu.objects.filter(pk=menu_id).update(sync_error="", synced_at=timezone.now(), sync_lease_until=None)
    _audit(menu, report, outcome="ok")
    return report


def _describe(exc: LineApiError) -> str:
    """The error with LINE's own words, which say what it refused (``{"message": ..., "details": [...]}``)."""
    said = (exc.details or {}).get("body", "")
    return f"{exc} {said}".strip()[:2000]


def _lease_take(menu_id: int) -> None:
    now = timezone.now()
    free = Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now)
    if RichMenu.objects.filter(pk=menu_id).filter(free).update(sync_lease_until=now + LEASE):
        return
    if not RichMenu.objects.filter(pk=menu_id).exists():
        raise NotFoundError(f"Rich menu {menu_id} does not exist.")
    raise SyncBusyError()


def _audit(menu: RichMenu, report: SyncReport, *, outcome: str, error: str = "") -> None:
    details = {"outcome": outcome, "active": menu.active, **report.as_details()}
    if error:
        details["error"] = error[:500]
    audit.record(
        action=AuditEvent.Action.RICH_MENU_SYNCED, target=f"richmessages.richmenu:{menu.pk} {menu}", details=details
    )
    log.info("rich_menu_synced", menu_id=menu.pk, outcome=outcome, steps=report.steps)


# --- putting a menu on LINE ---------------------------------------------------------------------------------------
def _deploy(client: LineClient, menu: RichMenu, report: SyncReport) -> None:
    deployment = _deployment_for(menu)
    if not deployment.line_rich_menu_id:
        _create(client, menu, deployment)
        report.steps.append("created")
    report.line_rich_menu_id = deployment.line_rich_menu_id
    if deployment.image_uploaded_at is None:
        _upload_image(client, menu, deployment)
        report.steps.append("image_uploaded")
    report.steps += _aliases_point_at(client, menu.aliases.all(), deployment.line_rich_menu_id)
    report.steps += _default_apply(client, menu, deployment)
    report.link_calls = _links_move(client, menu, deployment.line_rich_menu_id)
    if report.link_calls:
        report.steps.append("users_linked")
    for old in menu.deployments.exclude(pk=deployment.pk).filter(deleted_on_line_at__isnull=True):
        _delete_on_line(client, old)
        report.steps.append(f"deleted_old:{old.line_rich_menu_id or old.line_name}")


def _deployment_for(menu: RichMenu) -> RichMenuDeployment:
    fingerprint = menu.fingerprint
    deployment = menu.deployments.filter(fingerprint=fingerprint, deleted_on_line_at__isnull=True).first()
    if deployment is None:
        marker = f"[m{menu.pk}-{fingerprint[:8]}-{secrets.token_hex(4)}]"
        deployment = RichMenuDeployment.objects.create(
            menu=menu, fingerprint=fingerprint, line_name=line_object(menu, marker=marker)["name"]
        )
    return deployment


def _create(client: LineClient, menu: RichMenu, deployment: RichMenuDeployment) -> None:
    body = {**line_object(menu, marker=""), "name": deployment.line_name}
    attempts = 0
    resumed = deployment.create_started_at is not None

    def attempt() -> str:
        nonlocal attempts
        attempts += 1
        # An earlier attempt, in this run or one before, may have made it and lost the answer.
        if attempts > 1 or resumed:
            found = _find_on_line(client, deployment.line_name)
            if found:
                return found
        return client.create_rich_menu(body)

    if deployment.create_started_at is None:
        # LINE's own check first: a menu it refuses is reported before anything exists on LINE.
        with_retries(lambda: client.validate_rich_menu(body))
        deployment.create_started_at = timezone.now()
        deployment.save(update_fields=["create_started_at"])
    deployment.line_rich_menu_id = with_retries(attempt)
    deployment.created_on_line_at = timezone.now()
    deployment.save(update_fields=["line_rich_menu_id", "created_on_line_at"])


def _find_on_line(client: LineClient, line_name: str) -> str | None:
    """The LINE menu with this name; duplicates (never expected) are deleted."""
    matches = [menu.rich_menu_id for menu in client.list_rich_menus() if menu.name == line_name]
    for duplicate in matches[1:]:
        log.warning("rich_menu_duplicate_deleted", rich_menu_id=duplicate, line_name=line_name)
        _delete_quietly(client, duplicate)
    return matches[0] if matches else None


def _upload_image(client: LineClient, menu: RichMenu, deployment: RichMenuDeployment) -> None:
    rich_menu_id = deployment.line_rich_menu_id
    with menu.image.open("rb") as image:
        data = image.read()

    def attempt() -> None:
        try:
            client.set_rich_menu_image(rich_menu_id, data, content_type=menu.image_content_type)
        except LineApiError as exc:
            # LINE refuses a second image: one that is there already came from an attempt whose answer was lost.
            if exc.status == 400 and client.rich_menu_has_image(rich_menu_id):
                return
            raise

    with_retries(attempt)
    deployment.image_uploaded_at = deployment.live_at = timezone.now()
    deployment.save(update_fields=["image_uploaded_at", "live_at"])


def _aliases_point_at(client: LineClient, aliases, rich_menu_id: str) -> list[str]:
    steps = []
    for alias in aliases:
        if alias.line_rich_menu_id == rich_menu_id:
            continue
        with_retries(lambda alias=alias: _alias_put(client, alias, rich_menu_id))
        RichMenuAlias.objects.filter(pk=alias.pk).update(line_rich_menu_id=rich_menu_id)
        steps.append(f"alias:{alias.alias_id}")
    return steps


def _alias_put(client: LineClient, alias: RichMenuAlias, rich_menu_id: str) -> None:
    exists = bool(alias.line_rich_menu_id)
    try:
        if exists:
            client.update_rich_menu_alias(alias.alias_id, rich_menu_id)
        else:
            client.create_rich_menu_alias(alias.alias_id, rich_menu_id)
    except LineApiError as exc:
        # Our record and LINE disagree (a lost answer, or a change made elsewhere): do the other one.
        if exists and exc.status == 404:
            client.create_rich_menu_alias(alias.alias_id, rich_menu_id)
        elif not exists and exc.status == 400:
            client.update_rich_menu_alias(alias.alias_id, rich_menu_id)
        else:
            raise


def _default_apply(client: LineClient, menu: RichMenu, deployment: RichMenuDeployment | None) -> list[str]:
    if deployment is not None and menu.is_default and menu.active:
        if deployment.is_default_on_line:
            return []
        with_retries(lambda: client.set_default_rich_menu(deployment.line_rich_menu_id))
        RichMenuDeployment.objects.filter(is_default_on_line=True).exclude(pk=deployment.pk).update(
            is_default_on_line=False
        )
        RichMenuDeployment.objects.filter(pk=deployment.pk).update(is_default_on_line=True)
        deployment.is_default_on_line = True
        return ["default_set"]
    ours = set(menu.deployments.filter(is_default_on_line=True).values_list("line_rich_menu_id", flat=True))
    if not ours:
        return []
    steps = []
    # When another menu took the flag, its sync replaces the default: cancelling first would leave users with none.
    successor = RichMenu.objects.filter(is_default=True, active=True).exclude(pk=menu.pk).exists()
    # LINE's default may have been changed since: only ours is cancelled.
    if not successor and with_retries(client.default_rich_menu_id) in ours:
        with_retries(client.cancel_default_rich_menu)
        steps.append("default_cancelled")
    menu.deployments.update(is_default_on_line=False)
    return steps


def _links_move(client: LineClient, menu: RichMenu, rich_menu_id: str) -> int:
    """Links the menu's users whose LINE link differs, 500 per call, recording each call's users as it succeeds."""
    calls = 0
    pending = RichMenuUserLink.objects.filter(menu=menu).exclude(line_rich_menu_id=rich_menu_id).order_by("id")
    while batch := list(pending.values_list("pk", "line_user__line_user_id")[:RICH_MENU_BULK_MAX]):
        user_ids = [user_id for _, user_id in batch]
        with_retries(lambda user_ids=user_ids: _link(client, user_ids, rich_menu_id))
        RichMenuUserLink.objects.filter(pk__in=[pk for pk, _ in batch]).update(line_rich_menu_id=rich_menu_id)
        calls += 1
    return calls


def _link(client: LineClient, user_ids: list[str], rich_menu_id: str) -> None:
    # One user is linked at once; LINE applies a bulk link in the background.
    if len(user_ids) == 1:
        client.link_rich_menu_to_user(user_ids[0], rich_menu_id)
    else:
        client.link_rich_menu_to_users(user_ids, rich_menu_id)


def _unlink(client: LineClient, user_ids: list[str]) -> None:
    if len(user_ids) == 1:
        client.unlink_rich_menu_from_user(user_ids[0])
    else:
        client.unlink_rich_menu_from_users(user_ids)


def _delete_on_line(client: LineClient, deployment: RichMenuDeployment) -> None:
    rich_menu_id = deployment.line_rich_menu_id
    if not rich_menu_id and deployment.create_started_at is not None:
        rich_menu_id = with_retries(lambda: _find_on_line(client, deployment.line_name)) or ""
    if rich_menu_id:
        with_retries(lambda: _delete_quietly(client, rich_menu_id))
    deployment.deleted_on_line_at = timezone.now()
    deployment.is_default_on_line = False
    deployment.save(update_fields=["deleted_on_line_at", "is_default_on_line"])


def _delete_quietly(client: LineClient, rich_menu_id: str) -> None:
    _ignore_404(lambda: client.delete_rich_menu(rich_menu_id))


def _ignore_404(call: Callable[[], object]) -> None:
    try:
        call()
    except LineApiError as exc:
        # Already gone: what a rerun after a lost answer finds.
        if exc.status != 404:
            raise


# --- taking a menu off LINE ---------------------------------------------------------------------------------------
def _withdraw(client: LineClient, menu: RichMenu, report: SyncReport) -> None:
    report.steps += _default_apply(client, menu, deployment=None)
    for alias in menu.aliases.exclude(line_rich_menu_id=""):
        with_retries(lambda alias=alias: _ignore_404(lambda: client.delete_rich_menu_alias(alias.alias_id)))
        RichMenuAlias.objects.filter(pk=alias.pk).update(line_rich_menu_id="")
        report.steps.append(f"alias_deleted:{alias.alias_id}")
    report.link_calls = links_unlink_on_line(client, RichMenuUserLink.objects.filter(menu=menu))
    if report.link_calls:
        report.steps.append("users_unlinked")
    for deployment in menu.deployments.filter(deleted_on_line_at__isnull=True):
        _delete_on_line(client, deployment)
        report.steps.append(f"deleted:{deployment.line_rich_menu_id or deployment.line_name}")


def links_unlink_on_line(client: LineClient, links) -> int:
    """Unlinks on LINE the users of ``links`` that LINE has linked, 500 per call; returns the number of calls."""
    calls = 0
    pending = links.exclude(line_rich_menu_id="").order_by("id")
    while batch := list(pending.values_list("pk", "line_user__line_user_id")[:RICH_MENU_BULK_MAX]):
        user_ids = [user_id for _, user_id in batch]
        with_retries(lambda user_ids=user_ids: _unlink(client, user_ids))
        RichMenuUserLink.objects.filter(pk__in=[pk for pk, _ in batch]).update(line_rich_menu_id="")
        calls += 1
    return calls
