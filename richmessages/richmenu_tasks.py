"""Celery tasks of rich menus: each takes ids, calls one service, and is safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from core.errors import LineApiError
from core.line.client import get_line_client, with_retries
from core.logging import get_logger
from richmessages.richmenu_links import richmenu_unlinks_sync
from richmessages.richmenu_models import RichMenuAlias
from richmessages.richmenu_sync import SyncBusyError, richmenu_sync

log = get_logger(__name__)

_MAX_RETRIES = 6


@shared_task(bind=True, max_retries=_MAX_RETRIES)
def sync_rich_menu(self, menu_id: int) -> str:
    try:
        richmenu_sync(menu_id=menu_id)
    except SyncBusyError as exc:
        # Another runner has it; this one's request is served when it runs again.
        if self.request.is_eager or self.request.retries >= _MAX_RETRIES:
            return "busy"
        raise self.retry(exc=exc, countdown=30) from exc
    except LineApiError as exc:
        # Each step is recorded, so a retry picks up where this run stopped.
        if exc.retryable and not self.request.is_eager and self.request.retries < _MAX_RETRIES:
            raise self.retry(exc=exc, countdown=min(30 * 2**self.request.retries, 900)) from exc
        log.warning("rich_menu_sync_failed", menu_id=menu_id, error=str(exc))
        return "failed"
    return "ok"


@shared_task(bind=True, max_retries=_MAX_RETRIES)
def unlink_rich_menu_users(self) -> int:
    try:
        return richmenu_unlinks_sync()
    except LineApiError as exc:
        if exc.retryable and not self.request.is_eager and self.request.retries < _MAX_RETRIES:
            raise self.retry(exc=exc, countdown=min(30 * 2**self.request.retries, 900)) from exc
        raise


@shared_task(bind=True, max_retries=_MAX_RETRIES)
def unlink_erased_user_rich_menu(self, line_user_id: str) -> str:
    """Takes an erased user's own menu away on LINE; their link row is gone, so the LINE id comes as an argument.

    The id lives on only in this task's message, until LINE has confirmed.
    """
    client = get_line_client()
    try:
        with_retries(lambda: client.unlink_rich_menu_from_user(line_user_id))
    except LineApiError as exc:
        if exc.status == 404:
            return "gone"
        if exc.retryable and not self.request.is_eager and self.request.retries < _MAX_RETRIES:
            raise self.retry(exc=exc, countdown=min(30 * 2**self.request.retries, 900)) from exc
        raise
    return "unlinked"


@shared_task
def delete_rich_menu_alias(alias_id: str) -> str:
    """Deletes an alias on LINE after its row was deleted; an alias already gone counts as deleted."""
    if RichMenuAlias.objects.filter(alias_id=alias_id).exists():
        return "kept"  # made again since: the next sync of its menu points it there
    client = get_line_client()
    try:
        with_retries(lambda: client.delete_rich_menu_alias(alias_id))
    except LineApiError as exc:
        if exc.status != 404:
            raise
    return alias_id


def richmenu_sync_enqueue(*, menu_id: int) -> None:
    transaction.on_commit(lambda: sync_rich_menu.delay(menu_id))


def richmenu_unlinks_enqueue() -> None:
    transaction.on_commit(lambda: unlink_rich_menu_users.delay())


def richmenu_alias_delete_enqueue(*, alias_id: str) -> None:
    transaction.on_commit(lambda: delete_rich_menu_alias.delay(alias_id))


def richmenu_erased_user_unlink_enqueue(*, line_user_id: str) -> None:
    transaction.on_commit(lambda: unlink_erased_user_rich_menu.delay(line_user_id))
