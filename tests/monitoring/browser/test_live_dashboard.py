"""The operations dashboard in Chromium, on a live daphne with the ticker in its own process."""

import base64
import hashlib
import hmac
import json
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from accounts import roles
from tests.monitoring.browser.conftest import SECRET
from tests.monitoring.conftest import session_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"


def _post_webhook(base_url: str, events: int) -> None:
    body = json.dumps(
        {
            "destination": "Ubot",
            "events": [
                {
                    "type": "follow",
                    "mode": "active",
                    "timestamp": int(time.time() * 1000),
                    "source": {"type": "user", "userId": "U" + uuid.uuid4().hex},
                    "webhookEventId": uuid.uuid4().hex.upper()[:26],
                    "deliveryContext": {"isRedelivery": False},
                    "replyToken": uuid.uuid4().hex,
                }
                for _ in range(events)
            ],
        }
    ).encode()
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    request = urllib.request.Request(
        f"{base_url}/line/webhook",
        data=body,
        headers={"Content-Type": "application/json", "X-Line-Signature": signature},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _page(browser, live_stack, session_key=None):
    context = browser.new_context(base_url=live_stack.base_url, viewport={"width": 1366, "height": 768})
    if session_key:
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": live_stack.base_url}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


def _number(page, key: str) -> float | None:
    value = page.get_attribute(f'[data-metric="{key}"]', "data-value")
    return float(value) if value else None


def _wait_for_number(page, key: str, at_least: float, timeout: float = 20) -> float:
    # Polled from here: the CSP (no eval) refuses Playwright's wait_for_function.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = _number(page, key)
        if value is not None and value >= at_least:
            return value
        page.wait_for_timeout(200)
    raise AssertionError(f"{key} stayed at {_number(page, key)}, expected at least {at_least}")


def test_it_changes_a_dashboard_number_after_webhooks_arrive(browser, live_stack, make_staff):
    operator = make_staff("watcher", role=roles.OPERATOR)
    page = _page(browser, live_stack, session_for(operator))

    page.goto("/admin/")
    page.wait_for_selector('#ops-dashboard[data-connection="live"]')
    before = _wait_for_number(page, "webhook_events_total", 0)
    _post_webhook(live_stack.base_url, 3)
    _post_webhook(live_stack.base_url, 2)

    assert _wait_for_number(page, "webhook_events_total", before + 5) == before + 5
    shown = page.inner_text('[data-metric="webhook_events_total"]')
    assert float(shown.replace(",", "")) == before + 5
    assert _wait_for_number(page, "line_follows_today", 5) == 5
    _wait_for_number(page, "webhook_ack_p50_ms", 0.001)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-operations.png"), full_page=True)
    page.context.close()


def test_it_refuses_an_anonymous_socket(browser, live_stack):
    page = _page(browser, live_stack)
    page.goto("/admin/login/")

    code = page.evaluate(
        """() => new Promise((resolve) => {
            const socket = new WebSocket(`ws://${location.host}/ws/dashboards/operations/`);
            socket.onclose = (event) => resolve(event.code);
        })"""
    )

    assert code == 4401
    page.goto("/admin/dashboards/operations/")
    assert "/admin/login/" in page.url
    page.context.close()


def test_it_asks_for_a_snapshot_after_a_gap_and_applies_only_the_next_update(browser, live_stack):
    page = _page(browser, live_stack)
    page.goto("/admin/login/")
    page.add_script_tag(url="/static/monitoring/dashboard.js")

    steps = page.evaluate(
        """() => {
            const d = window.LinebotDashboard;
            let s = d.initialState();
            const out = [];
            for (const m of [
                {type: "snapshot", seq: 10, data: {a: 1, "errors.x": 2}},
                {type: "update", seq: 11, data: {a: 2, "errors.x": null}},
                {type: "update", seq: 11, data: {a: 9}},
                {type: "update", seq: 13, data: {a: 3}},
                {type: "update", seq: 14, data: {a: 4}},
                {type: "snapshot", seq: 14, data: {a: 4}},
                {type: "update", seq: 15, data: {a: 5}},
            ]) {
                const r = d.apply(s, m);
                s = r.state;
                out.push([r.action, s.seq, JSON.stringify(s.data)]);
            }
            return out;
        }"""
    )

    assert steps == [
        ["render", 10, '{"a":1,"errors.x":2}'],
        ["render", 11, '{"a":2}'],
        ["ignore", 11, '{"a":2}'],
        ["resync", 11, '{"a":2}'],
        ["resync", 11, '{"a":2}'],
        ["render", 14, '{"a":4}'],
        ["render", 15, '{"a":5}'],
    ]
    page.context.close()
