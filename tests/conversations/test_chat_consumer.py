"""``/ws/conversations/<id>/``: who may watch a LINE user's chat live, and what they receive."""

import asyncio
import json

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction

from accounts import roles
from conversations import consumers
from conversations.live import chat_watched
from conversations.models import Conversation, LineUser, Message
from conversations.services import conversation_open, message_create
from core.redis import get_redis
from linebot_project.routing import websocket_application
from tests.monitoring.conftest import session_for

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest_asyncio.fixture(autouse=True)
async def _close_thread_connections():
    """Consumers reach the database from asgiref's shared thread; its connection must not outlive the test."""
    from django.db import connections

    yield
    await database_sync_to_async(connections.close_all)()


def _staff(username, role=None, staff=True):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username, password="a-long-password-123", is_staff=staff)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@database_sync_to_async
def signed_in(username, role=None, staff=True) -> str:
    return session_for(_staff(username, role, staff))


@database_sync_to_async
def line_user() -> LineUser:
    return LineUser.objects.create(line_user_id="U" + "e" * 32, display_name="Emi")


def chat_socket(line_user_id: int, session_key: str | None = None, origin: str = "http://testserver"):
    headers = [(b"origin", origin.encode())]
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    return WebsocketCommunicator(websocket_application(), f"/ws/conversations/{line_user_id}/", headers=headers)


async def closed_with(socket) -> int:
    connected, _ = await socket.connect()
    assert connected  # accepted first, so that the browser sees the close code
    message = await socket.receive_output(timeout=3)
    assert message["type"] == "websocket.close", message
    return message["code"]


async def opened(socket) -> None:
    connected, _ = await socket.connect()
    assert connected
    assert json.loads(await socket.receive_from(timeout=3)) == {"type": "ready"}


async def test_it_refuses_an_anonymous_socket_with_4401():
    emi = await line_user()

    assert await closed_with(chat_socket(emi.pk)) == 4401


@pytest.mark.parametrize("role", [roles.ANALYST, roles.CONTENT_EDITOR])
async def test_it_refuses_a_role_that_may_not_take_over_with_4403(role):
    emi = await line_user()
    key = await signed_in("viewer", role)

    assert await closed_with(chat_socket(emi.pk, key)) == 4403


async def test_it_refuses_an_operator_who_is_not_staff_with_4403():
    emi = await line_user()
    key = await signed_in("former", roles.OPERATOR, staff=False)

    assert await closed_with(chat_socket(emi.pk, key)) == 4403


async def test_it_refuses_a_socket_for_an_unknown_line_user_with_4404():
    key = await signed_in("olga", roles.OPERATOR)

    assert await closed_with(chat_socket(999_999, key)) == 4404


async def test_it_refuses_a_foreign_origin():
    emi = await line_user()
    key = await signed_in("olga", roles.OPERATOR)

    connected, _ = await chat_socket(emi.pk, key, origin="https://evil.example").connect()

    assert not connected


@database_sync_to_async
def user_says(user: LineUser, text: str) -> Message:
    with transaction.atomic():
        conversation = conversation_open(
            source_type=Conversation.SourceType.USER, source_id=user.line_user_id, user=user
        )
        return message_create(
            conversation=conversation, role=Message.Role.USER, content=text, line_user=user, webhook_event=None
        )


async def test_it_sends_the_operator_a_message_as_it_arrives():
    emi = await line_user()
    socket = chat_socket(emi.pk, await signed_in("olga", roles.OPERATOR))
    await opened(socket)

    message = await user_says(emi, "Can a person help me?")

    update = json.loads(await socket.receive_from(timeout=3))
    assert update["type"] == "update"
    [item] = update["items"]
    assert item["id"] == f"m{message.pk}" and item["kind"] == "user" and item["text"] == "Can a person help me?"
    assert update["takeover"] == {"active": False}
    await socket.disconnect()


async def test_it_marks_the_chat_watched_before_it_says_ready():
    emi = await line_user()
    socket = chat_socket(emi.pk, await signed_in("olga", roles.OPERATOR))
    assert not await sync_to_async(chat_watched)(emi.pk)

    await opened(socket)

    assert await sync_to_async(chat_watched)(emi.pk)
    await socket.disconnect()


async def test_it_marks_the_chat_again_while_the_socket_stays_open(monkeypatch):
    monkeypatch.setattr(consumers, "WATCH_REFRESH_SECONDS", 0.05)
    emi = await line_user()
    socket = chat_socket(emi.pk, await signed_in("olga", roles.OPERATOR))
    await opened(socket)
    await sync_to_async(get_redis().delete)(f"conv:watched:{emi.pk}")

    for _ in range(40):
        if await sync_to_async(chat_watched)(emi.pk):
            break
        await asyncio.sleep(0.05)

    assert await sync_to_async(chat_watched)(emi.pk)
    await socket.disconnect()


async def test_it_does_not_mark_a_chat_for_a_refused_socket():
    emi = await line_user()

    assert await closed_with(chat_socket(emi.pk, await signed_in("ann", roles.ANALYST))) == 4403
    assert not await sync_to_async(chat_watched)(emi.pk)


async def test_it_does_not_send_another_users_chat():
    emi = await line_user()
    other = await database_sync_to_async(LineUser.objects.create)(line_user_id="U" + "f" * 32)
    socket = chat_socket(emi.pk, await signed_in("olga", roles.OPERATOR))
    await opened(socket)

    await user_says(other, "not for Emi's watchers")

    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


async def test_it_closes_the_socket_when_the_operator_loses_the_role():
    emi = await line_user()
    key = await signed_in("olga", roles.OPERATOR)
    socket = chat_socket(emi.pk, key)
    await opened(socket)

    @database_sync_to_async
    def demote():
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.get(username="olga")
        user.groups.remove(Group.objects.get(name=roles.OPERATOR))

    await demote()

    message = await socket.receive_output(timeout=3)
    assert message == {"type": "websocket.close", "code": 4403}


async def test_it_forwards_nothing_to_a_session_that_ended_and_closes_it():
    from django.contrib.sessions.models import Session

    emi = await line_user()
    key = await signed_in("olga", roles.OPERATOR)
    socket = chat_socket(emi.pk, key)
    await opened(socket)
    await database_sync_to_async(Session.objects.filter(session_key=key).delete)()

    await user_says(emi, "private words")

    message = await socket.receive_output(timeout=3)
    assert message == {"type": "websocket.close", "code": 4401}
