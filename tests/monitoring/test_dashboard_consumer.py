"""``/ws/dashboards/<name>/``: who may connect, what they get, and when they are sent away."""

import asyncio
import json
import time

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.test import Client

from accounts import roles
from monitoring.dashboards.store import snapshot_save
from tests.monitoring.conftest import dashboard_socket, session_for

pytestmark = [
    pytest.mark.asyncio,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("close_thread_connections"),
]


async def _closed_with(socket) -> int:
    connected, _ = await socket.connect()
    assert connected  # accepted first, so that the browser sees the close code
    message = await socket.receive_output(timeout=3)
    assert message["type"] == "websocket.close", message
    return message["code"]


async def _open(socket) -> dict:
    connected, _ = await socket.connect()
    assert connected
    return json.loads(await socket.receive_from(timeout=3))


async def _update(dashboard: str, seq: int, data: dict) -> str:
    text = json.dumps({"type": "update", "seq": seq, "ts": time.time(), "data": data})
    await get_channel_layer().group_send(f"dashboard.{dashboard}", {"type": "dashboard.update", "text": text})
    return text


@pytest.fixture
def operator(make_staff):
    return make_staff("operator", role=roles.OPERATOR)


async def test_it_refuses_an_anonymous_socket_with_4401():
    assert await _closed_with(dashboard_socket("operations")) == 4401


async def test_it_refuses_a_session_that_did_not_pass_mfa_with_4401(operator):
    key = await database_sync_to_async(session_for)(operator, verified=False)

    assert await _closed_with(dashboard_socket("operations", key)) == 4401


async def test_it_refuses_an_idle_session_with_4401(operator):
    stale = time.time() - settings.SESSION_IDLE_TIMEOUT - 5
    key = await database_sync_to_async(session_for)(operator, last_seen=stale)

    assert await _closed_with(dashboard_socket("operations", key)) == 4401


async def test_it_refuses_a_verified_user_who_is_not_staff_with_4403(make_staff):
    user = await database_sync_to_async(make_staff)("visitor", staff=False)
    key = await database_sync_to_async(session_for)(user)

    assert await _closed_with(dashboard_socket("operations", key)) == 4403


@pytest.mark.parametrize(
    ("role", "dashboard", "allowed"),
    [
        (roles.ADMINISTRATOR, "operations", True),
        (roles.ADMINISTRATOR, "analytics", True),
        (roles.OPERATOR, "operations", True),
        (roles.OPERATOR, "campaigns", True),
        (roles.CONTENT_EDITOR, "operations", False),
        (roles.CONTENT_EDITOR, "campaigns", True),
        (roles.CONTENT_EDITOR, "analytics", True),
        (roles.ANALYST, "operations", False),
        (roles.ANALYST, "campaigns", False),
        (roles.ANALYST, "analytics", True),
    ],
)
async def test_it_lets_each_role_see_only_its_dashboards(make_staff, role, dashboard, allowed):
    user = await database_sync_to_async(make_staff)("someone", role=role)
    key = await database_sync_to_async(session_for)(user)
    socket = dashboard_socket(dashboard, key)

    if allowed:
        assert (await _open(socket))["type"] == "snapshot"
        await socket.disconnect()
    else:
        assert await _closed_with(socket) == 4403


async def test_it_closes_an_unknown_dashboard_with_4404(operator):
    key = await database_sync_to_async(session_for)(operator)

    assert await _closed_with(dashboard_socket("payroll", key)) == 4404


@pytest.mark.parametrize("origin", ["http://evil.example", None])
async def test_it_refuses_a_socket_from_another_origin_before_accepting_it(operator, origin):
    key = await database_sync_to_async(session_for)(operator)

    connected, _ = await dashboard_socket("operations", key, origin=origin).connect()

    assert not connected


async def test_it_accepts_an_origin_listed_in_csrf_trusted_origins(operator, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://ops.example.com"]
    key = await database_sync_to_async(session_for)(operator)

    snapshot = await _open(dashboard_socket("operations", key, origin="https://ops.example.com"))

    assert snapshot["type"] == "snapshot"


async def test_it_sends_the_stored_snapshot_then_forwards_updates(operator):
    stored = {"type": "snapshot", "seq": 41, "ts": 1.0, "data": {"webhook_events_total": 10}}
    await database_sync_to_async(snapshot_save)("operations", json.dumps(stored))
    key = await database_sync_to_async(session_for)(operator)
    socket = dashboard_socket("operations", key)

    assert await _open(socket) == stored
    sent = await _update("operations", 42, {"webhook_events_total": 12})
    assert await socket.receive_from(timeout=3) == sent
    await socket.disconnect()


async def test_it_sends_an_empty_snapshot_before_the_ticker_ever_ran(operator):
    key = await database_sync_to_async(session_for)(operator)

    assert await _open(dashboard_socket("analytics", key)) == {"type": "snapshot", "seq": 0, "ts": None, "data": {}}


async def test_it_answers_a_snapshot_request_with_the_latest_snapshot(operator):
    key = await database_sync_to_async(session_for)(operator)
    socket = dashboard_socket("operations", key)
    await _open(socket)
    latest = {"type": "snapshot", "seq": 57, "ts": 2.0, "data": {"webhook_events_total": 99}}
    await database_sync_to_async(snapshot_save)("operations", json.dumps(latest))
    time.sleep(1.0)  # requests are limited to one per second per socket

    await socket.send_json_to({"type": "snapshot_request"})

    assert json.loads(await socket.receive_from(timeout=3)) == latest
    await socket.disconnect()


async def test_it_ignores_messages_it_does_not_know(operator):
    key = await database_sync_to_async(session_for)(operator)
    socket = dashboard_socket("operations", key)
    await _open(socket)

    await socket.send_to(text_data="not json")
    await socket.send_json_to({"type": "subscribe", "dashboard": "payroll"})

    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


async def test_it_closes_with_4401_when_its_session_logs_out_and_keeps_the_users_other_sessions(operator):
    mine = await database_sync_to_async(session_for)(operator)
    other = await database_sync_to_async(session_for)(operator)
    socket, other_socket = dashboard_socket("operations", mine), dashboard_socket("operations", other)
    await _open(socket)
    await _open(other_socket)

    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = mine
    await database_sync_to_async(client.post)("/admin/logout/")

    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    sent = await _update("operations", 1, {"alerts_open": 1})
    assert await other_socket.receive_from(timeout=3) == sent
    await other_socket.disconnect()


async def test_it_closes_with_4403_when_the_role_is_taken_away(operator):
    key = await database_sync_to_async(session_for)(operator)
    socket = dashboard_socket("operations", key)
    await _open(socket)

    await database_sync_to_async(lambda: operator.groups.remove(Group.objects.get(name=roles.OPERATOR)))()

    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


async def test_it_closes_with_4403_when_the_group_loses_its_members(operator):
    key = await database_sync_to_async(session_for)(operator)
    socket = dashboard_socket("operations", key)
    await _open(socket)

    await database_sync_to_async(lambda: Group.objects.get(name=roles.OPERATOR).user_set.clear())()

    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}


async def test_it_closes_with_4401_when_the_user_is_deactivated(operator):
    key = await database_sync_to_async(session_for)(operator)
    socket = dashboard_socket("operations", key)
    await _open(socket)

    operator.is_active = False
    await database_sync_to_async(operator.save)()

    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}


async def test_it_closes_the_sockets_of_a_session_deleted_behind_its_back(operator, settings):
    settings.DASHBOARD_RECHECK_SECONDS = 0.2
    key = await database_sync_to_async(session_for)(operator)
    other = await database_sync_to_async(session_for)(operator)
    socket, other_socket = dashboard_socket("operations", key), dashboard_socket("operations", other)
    await _open(socket)
    await _open(other_socket)

    await database_sync_to_async(Session.objects.filter(session_key=key).delete)()

    # No signal told anyone: the server's periodic check of its sockets' sessions finds it.
    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}
    assert await other_socket.receive_nothing(timeout=0.5)
    await other_socket.disconnect()


async def test_it_closes_when_the_session_times_out_while_watching(operator, settings):
    settings.SESSION_IDLE_TIMEOUT = 2
    key = await database_sync_to_async(session_for)(operator)
    socket = dashboard_socket("operations", key)
    await _open(socket)

    time.sleep(2.2)
    await _update("operations", 1, {"alerts_open": 3})

    # Past the session's own limit nothing more is sent before the check.
    assert await socket.receive_output(timeout=3) == {"type": "websocket.close", "code": 4401}


async def test_it_starts_the_ticker_in_the_server_on_the_first_socket_on_the_embedded_default(operator, settings):
    from monitoring.dashboards import ticker

    settings.DASHBOARD_TICKER_IN_PROCESS = True
    key = await database_sync_to_async(session_for)(operator)
    socket = dashboard_socket("operations", key)
    await _open(socket)
    try:
        update = json.loads(await socket.receive_from(timeout=5))
        assert update["type"] == "update"
        assert "webhook_events_total" in update["data"]
    finally:
        await socket.disconnect()
        task = ticker._in_process.pop(asyncio.get_running_loop())
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
