"""The errors page in a real browser: a failing request shows up grouped, and links to the events it broke."""

import pytest
from django.utils import timezone

from accounts import roles
from conversations.models import WebhookEvent
from monitoring.fingerprints import Fingerprint
from monitoring.services import error_kind_record

from .test_ops_console import _login_with_device

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_lets_an_operator_find_an_error_and_the_events_it_broke(page, make_user, tmp_path):
    now = timezone.now()
    for fingerprint, kinds, count in [
        (Fingerprint("a" * 64, "KeyError", "conversations.processing:webhook_event_process"), ["worker"], 12),
        (Fingerprint("b" * 64, "core.errors.LineApiError", "conversations.delivery:deliver"), ["web", "worker"], 3),
    ]:
        error_kind_record(
            fingerprint=fingerprint,
            message="'reply_token' ข้อความ メッセージ",
            traceback="Traceback (most recent call last):\n  ...\nKeyError: 'reply_token'",
            count=count,
            first_seen=now,
            last_seen=now,
            process_kinds=kinds,
            correlation_ids=[f"{fingerprint.digest[:1]}-corr-2", f"{fingerprint.digest[:1]}-corr-1"],
        )
    WebhookEvent.objects.create(
        webhook_event_id="01BROKEN", content_digest="d", event_type="message", payload={}, correlation_id="a-corr-1"
    )
    _login_with_device(page, make_user("operator", role=roles.OPERATOR, device=True))

    page.goto("/admin/monitoring/errorkind/")
    page.screenshot(path=str(tmp_path / "errors.png"), full_page=True)
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    assert "KeyError" in rows.nth(0).inner_text() or "KeyError" in rows.nth(1).inner_text()

    page.click("text=KeyError")
    page.wait_for_load_state()
    page.screenshot(path=str(tmp_path / "error.png"), full_page=True)
    assert "ข้อความ メッセージ" in page.content()
    page.click("a:text('a-corr-1')")
    page.wait_for_load_state()
    page.screenshot(path=str(tmp_path / "events.png"), full_page=True)
    assert "/admin/conversations/webhookevent/?q=a-corr-1" in page.url
    assert page.locator("#result_list tbody tr").count() == 1
