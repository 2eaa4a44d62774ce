"""The session rules of the ops console, applied to websockets (accounts.websocket_auth)."""

import time

import pytest
from django.conf import settings

from accounts import roles
from accounts.websocket_auth import ended_sessions, verified_session
from tests.monitoring.conftest import session_for

pytestmark = pytest.mark.django_db


def test_it_finds_the_ended_sessions_among_many_in_one_go(make_staff, django_assert_max_num_queries):
    user = make_staff("viewer", role=roles.OPERATOR)
    live = session_for(user)
    idle = session_for(user, last_seen=time.time() - settings.SESSION_IDLE_TIMEOUT - 1)
    old = session_for(user, started=time.time() - settings.SESSION_ABSOLUTE_TIMEOUT - 1)

    with django_assert_max_num_queries(1):
        ended = ended_sessions([live, idle, old, "no-such-session"])

    assert ended == {idle, old, "no-such-session"}


def test_it_names_why_a_session_is_refused(make_staff):
    user = make_staff("viewer", role=roles.OPERATOR)

    assert verified_session(None).reason == "signed_out"
    assert verified_session(session_for(user, verified=False)).reason == "not_verified"
    assert verified_session(session_for(user, last_seen=1.0)).reason == "expired"
    check = verified_session(session_for(user))
    assert check.user == user and check.reason == ""
    assert check.expires_at == pytest.approx(time.time() + settings.SESSION_IDLE_TIMEOUT, abs=5)


def test_it_ends_the_session_for_sockets_too_on_a_password_change(make_staff):
    user = make_staff("viewer", role=roles.OPERATOR)
    key = session_for(user)

    user.set_password("another long password 42")
    user.save()

    assert verified_session(key).reason == "signed_out"
