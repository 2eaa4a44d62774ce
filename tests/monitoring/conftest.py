import time

import pytest
import pytest_asyncio
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.sessions import LAST_SEEN, STARTED_AT
from linebot_project.routing import websocket_application

PASSWORD = "correct horse battery staple 9"


@pytest.fixture
def make_staff(django_user_model):
    def make(username, *, role=None, staff=True):
        user = django_user_model.objects.create_user(username, password=PASSWORD, email=f"{username}@example.test")
        if role:
            user.groups.add(Group.objects.get(name=role))
        user.is_staff = staff
        user.save()
        return user

    return make


def session_for(user, *, verified=True, started=None, last_seen=None) -> str:
    """A stored session as the ops console's sign-in leaves it (password, then the TOTP code)."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    now = time.time()
    session[STARTED_AT] = started if started is not None else now
    session[LAST_SEEN] = last_seen if last_seen is not None else now
    if verified:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="authenticator", confirmed=True
        )
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return session.session_key


def dashboard_socket(name: str, session_key: str | None = None, origin: str | None = "http://testserver"):
    headers = []
    if origin:
        headers.append((b"origin", origin.encode()))
    if session_key:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session_key}".encode()))
    return WebsocketCommunicator(websocket_application(), f"/ws/dashboards/{name}/", headers=headers)


@pytest_asyncio.fixture
async def close_thread_connections():
    """Consumers reach the database from asgiref's shared thread; its connection must not outlive the test."""
    from channels.db import database_sync_to_async
    from django.db import connections

    yield
    await database_sync_to_async(connections.close_all)()
