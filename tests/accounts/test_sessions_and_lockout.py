import time

import pytest
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from accounts import roles
from accounts.models import AuditEvent
from accounts.sessions import LAST_SEEN, STARTED_AT
from core import client_ip
from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "an entirely new passphrase 7"


def _age_session(client, *, started_ago=0, idle=0):
    session = client.session
    now = time.time()
    session[STARTED_AT] = now - started_ago
    session[LAST_SEEN] = now - idle
    session.save()


def test_it_ends_a_session_idle_longer_than_the_idle_timeout(verified_client, make_user, settings):
    client = verified_client(make_user("ops", role=roles.OPERATOR, device=True))
    _age_session(client, idle=settings.SESSION_IDLE_TIMEOUT + 5)
    response = client.get("/admin/")
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    assert client.get("/admin/").status_code == 302
    assert AuditEvent.objects.get(action="session_expired").details == {"reason": "idle"}


def test_it_ends_an_active_session_at_the_absolute_timeout(verified_client, make_user, settings):
    client = verified_client(make_user("ops", role=roles.OPERATOR, device=True))
    _age_session(client, started_ago=settings.SESSION_ABSOLUTE_TIMEOUT + 5, idle=10)
    assert client.get("/admin/").status_code == 302
    assert AuditEvent.objects.get(action="session_expired").details == {"reason": "absolute"}


def test_it_keeps_a_session_within_both_timeouts(verified_client, make_user, settings):
    client = verified_client(make_user("ops", role=roles.OPERATOR, device=True))
    _age_session(client, started_ago=settings.SESSION_ABSOLUTE_TIMEOUT - 60, idle=settings.SESSION_IDLE_TIMEOUT - 60)
    assert client.get("/admin/").status_code == 200


@override_settings(SESSION_IDLE_TIMEOUT=60)
def test_it_takes_the_idle_timeout_from_the_settings(verified_client, make_user):
    client = verified_client(make_user("ops", role=roles.OPERATOR, device=True))
    _age_session(client, idle=120)
    assert client.get("/admin/").status_code == 302


def test_it_sets_session_cookies_httponly_and_samesite_lax(make_user):
    make_user("fresh", role=roles.OPERATOR)
    response = Client().post(reverse("admin:login"), {"username": "fresh", "password": PASSWORD})
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


def test_it_ends_the_users_other_sessions_when_the_password_changes(verified_client, make_user):
    user = make_user("ops", role=roles.OPERATOR, device=True)
    other = Client()
    other.force_login(user)
    client = verified_client(user)
    response = client.post(
        reverse("admin:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert other.get("/admin/").status_code == 302


def test_it_locks_the_account_for_that_address_after_five_wrong_passwords(make_user):
    make_user("target", role=roles.OPERATOR)
    client = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(5):
        client.post(reverse("admin:login"), {"username": "target", "password": "wrong password!!"})
    response = client.post(reverse("admin:login"), {"username": "target", "password": PASSWORD})
    assert response.status_code == 429
    assert "Account locked" in response.content.decode()
    assert "Try again in 15 minutes" in response.content.decode()
    # The five wrong passwords, plus the refused attempt while locked.
    assert AuditEvent.objects.filter(action="login_failed", target="user:target").count() == 6
    assert AuditEvent.objects.filter(action="locked_out", target="user:target").exists()
    # Another address is not locked out for the same username.
    other = Client(REMOTE_ADDR="198.51.100.8")
    assert other.post(reverse("admin:login"), {"username": "target", "password": PASSWORD}).status_code == 302


def test_it_resets_the_failure_count_on_a_successful_login(make_user):
    make_user("target", role=roles.OPERATOR)
    client = Client(REMOTE_ADDR="198.51.100.7")
    for _ in range(4):
        client.post(reverse("admin:login"), {"username": "target", "password": "wrong password!!"})
    assert client.post(reverse("admin:login"), {"username": "target", "password": PASSWORD}).status_code == 302
    client.logout()
    for _ in range(4):
        client.post(reverse("admin:login"), {"username": "target", "password": "wrong password!!"})
    assert client.post(reverse("admin:login"), {"username": "target", "password": PASSWORD}).status_code == 302


def test_it_counts_wrong_otp_codes_towards_the_lockout(make_user):
    make_user("target", role=roles.OPERATOR, device=True)
    client = Client(REMOTE_ADDR="198.51.100.9")
    for _ in range(5):
        client.post(reverse("admin:login"), {"username": "target", "password": PASSWORD, "otp_token": "000000"})
    response = client.post(reverse("admin:login"), {"username": "target", "password": PASSWORD, "otp_token": "000001"})
    assert response.status_code == 429


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "203.0.113.1", "10.0.0.2"),
        (1, "203.0.113.1", "203.0.113.1"),
        (1, "6.6.6.6, 203.0.113.1", "203.0.113.1"),
        (2, "6.6.6.6, 203.0.113.1, 10.0.0.9", "203.0.113.1"),
        (2, "203.0.113.1", "10.0.0.2"),
        (1, "not-an-ip", "10.0.0.2"),
    ],
)
def test_it_takes_the_client_address_behind_the_configured_number_of_proxies(settings, proxies, forwarded, expected):
    settings.AXES_IPWARE_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip.resolve(request) == expected


def test_it_audits_password_changes(verified_client, make_user, administrator):
    user = make_user("ops", role=roles.OPERATOR, device=True)
    client = verified_client(user)
    client.post(
        reverse("admin:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert AuditEvent.objects.get(action="password_changed", actor=user).details == {"by": "self"}
    admin_client = verified_client(administrator)
    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[user.pk]),
        {"password1": "set by the administrator 3", "password2": "set by the administrator 3"},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="password_changed", actor=administrator)
    assert event.target == "user:ops" and event.details == {"by": "administrator"}
