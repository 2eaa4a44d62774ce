import re

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import mfa, roles
from accounts.models import AuditEvent
from tests.accounts.conftest import PASSWORD, fresh_code, totp_code

pytestmark = pytest.mark.django_db


def test_it_sends_a_staff_user_without_a_device_to_enrollment_from_every_admin_page(client, make_user):
    make_user("fresh", role=roles.OPERATOR)
    response = client.post(reverse("admin:login"), {"username": "fresh", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302
    for path in ("/admin/", "/admin/monitoring/alert/", "/admin/accounts/user/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == reverse("admin:mfa_enroll")


def test_it_shows_an_inline_qr_code_and_a_new_secret_on_each_enrollment_page(client, make_user):
    user = make_user("fresh", role=roles.OPERATOR)
    client.force_login(user)
    first = client.get(reverse("admin:mfa_enroll"))
    assert first.status_code == 200
    assert "<svg" in first.content.decode()
    assert "<script" not in first.content.decode().split('id="totp-qr"')[1].split("</div>")[0]
    first_secret = first.context["secret"]
    second = client.get(reverse("admin:mfa_enroll"))
    assert second.context["secret"] != first_secret
    assert TOTPDevice.objects.filter(user=user, confirmed=False).count() == 1


def _enroll(client, user):
    client.force_login(user)
    client.get(reverse("admin:mfa_enroll"))
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(reverse("admin:mfa_enroll"), {"token": totp_code(device)})
    assert response.status_code == 200
    return device, response


def test_it_confirms_the_device_on_enrollment(client, make_user):
    user = make_user("fresh", role=roles.OPERATOR)
    device, _ = _enroll(client, user)
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/admin/").status_code == 200
    assert AuditEvent.objects.filter(action="device_enrolled", actor=user).exists()


def test_it_issues_ten_backup_codes_on_enrollment(client, make_user):
    _, response = _enroll(client, make_user("fresh", role=roles.OPERATOR))
    codes = response.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10


def _enroll_with_a_wrong_code(client, user):
    client.force_login(user)
    client.get(reverse("admin:mfa_enroll"))
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    return client.post(reverse("admin:mfa_enroll"), {"token": wrong})


def test_it_refuses_a_wrong_enrollment_code(client, make_user):
    user = make_user("fresh", role=roles.OPERATOR)
    response = _enroll_with_a_wrong_code(client, user)
    assert response.status_code == 400
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    assert client.get("/admin/").status_code == 302


def test_it_audits_a_wrong_enrollment_code(client, make_user):
    user = make_user("fresh", role=roles.OPERATOR)
    _enroll_with_a_wrong_code(client, user)
    assert AuditEvent.objects.filter(action="otp_failed", actor=user).exists()


def test_it_does_not_let_a_password_alone_replace_an_enrolled_device(client, make_user):
    user = make_user("enrolled", role=roles.OPERATOR, device=True)
    client.force_login(user)  # password passed, second factor not
    response = client.get(reverse("admin:mfa_enroll"))
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1
    assert not TOTPDevice.objects.filter(user=user, confirmed=False).exists()


def test_it_needs_the_totp_code_at_login_once_a_device_is_enrolled(make_user):
    user = make_user("enrolled", role=roles.OPERATOR, device=True)
    device = TOTPDevice.objects.get(user=user)
    client = Client()
    response = client.post(reverse("admin:login"), {"username": "enrolled", "password": PASSWORD})
    assert response.status_code == 200
    assert "Enter the code" in response.content.decode()
    response = client.post(
        reverse("admin:login"), {"username": "enrolled", "password": PASSWORD, "otp_token": fresh_code(device)}
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def _sign_in_with_a_wrong_code(client, user):
    device = TOTPDevice.objects.get(user=user)
    wrong = f"{(int(totp_code(device)) + 500_000) % 1_000_000:06d}"
    return client.post(reverse("admin:login"), {"username": user.username, "password": PASSWORD, "otp_token": wrong})


def test_it_refuses_a_wrong_totp_code(client, make_user):
    user = make_user("enrolled", role=roles.OPERATOR, device=True)
    response = _sign_in_with_a_wrong_code(client, user)
    assert response.status_code == 200
    assert "not valid" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_it_audits_a_wrong_totp_code(client, make_user):
    user = make_user("enrolled", role=roles.OPERATOR, device=True)
    _sign_in_with_a_wrong_code(client, user)
    event = AuditEvent.objects.get(action="otp_failed")
    assert event.actor == user and event.details["stage"] == "login"


def test_it_refuses_a_replayed_totp_code(make_user):
    user = make_user("enrolled", role=roles.OPERATOR, device=True)
    device = TOTPDevice.objects.get(user=user)
    code = fresh_code(device)
    first = Client().post(reverse("admin:login"), {"username": "enrolled", "password": PASSWORD, "otp_token": code})
    assert first.status_code == 302
    again = Client().post(reverse("admin:login"), {"username": "enrolled", "password": PASSWORD, "otp_token": code})
    assert again.status_code == 200


def test_it_accepts_each_backup_code_exactly_once(make_user):
    user = make_user("enrolled", role=roles.OPERATOR, device=True)
    codes = mfa.backup_codes_regenerate(user=user)
    assert len(codes) == 10
    login = {"username": "enrolled", "password": PASSWORD, "otp_token": codes[0]}
    assert Client().post(reverse("admin:login"), login).status_code == 302
    assert Client().post(reverse("admin:login"), login).status_code == 200
    assert StaticToken.objects.filter(device__user=user).count() == 9
    assert AuditEvent.objects.filter(action="backup_code_used", actor=user).exists()


def test_it_voids_the_old_backup_codes_when_new_ones_are_generated(verified_client, make_user):
    user = make_user("enrolled", role=roles.OPERATOR, device=True)
    old = mfa.backup_codes_regenerate(user=user)
    client = verified_client(user)
    response = client.post(reverse("admin:mfa_backup_codes"))
    new = response.context["codes"]
    assert len(new) == 10
    assert not set(old) & set(StaticToken.objects.filter(device__user=user).values_list("token", flat=True))
    assert AuditEvent.objects.filter(action="backup_codes_regenerated", actor=user).count() == 2


@pytest.fixture
def lost_phone(make_user):
    """An operator who lost their phone, still signed in on another browser."""
    user = make_user("lost-phone", role=roles.OPERATOR, device=True)
    mfa.backup_codes_regenerate(user=user)
    session = Client()
    session.force_login(user)
    return user, session


def _reset_device(verified_client, administrator, user):
    return verified_client(administrator).post(
        reverse("admin:accounts_user_changelist"), {"action": "reset_mfa_device", "_selected_action": [user.pk]}
    )


def test_it_lets_an_administrator_reset_a_device(verified_client, administrator, lost_phone):
    user, _ = lost_phone
    assert _reset_device(verified_client, administrator, user).status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticDevice.objects.filter(user=user).exists()


def test_it_audits_a_device_reset(verified_client, administrator, lost_phone):
    user, _ = lost_phone
    _reset_device(verified_client, administrator, user)
    event = AuditEvent.objects.get(action="device_reset")
    assert event.actor == administrator and event.target == "user:lost-phone"


def test_it_ends_the_users_sessions_when_their_device_is_reset(verified_client, administrator, lost_phone):
    user, session = lost_phone
    _reset_device(verified_client, administrator, user)
    # The old session no longer authenticates.
    assert session.get("/admin/").status_code == 302
    assert "_auth_user_id" not in SessionStore(session.session.session_key).load()


def test_it_lets_only_an_administrator_reset_devices(verified_client, make_user):
    operator = make_user("op", role=roles.OPERATOR, device=True)
    other = make_user("other", role=roles.OPERATOR, device=True)
    client = verified_client(operator)
    changelist = reverse("admin:accounts_user_changelist")
    client.post(changelist, {"action": "reset_mfa_device", "_selected_action": [other.pk]})
    assert TOTPDevice.objects.filter(user=other).exists()
    assert not AuditEvent.objects.filter(action="device_reset").exists()


def test_it_ends_the_users_other_sessions_when_a_new_device_is_enrolled(make_user, verified_client):
    user = make_user("rotator", role=roles.OPERATOR, device=True)
    other = Client()
    other.force_login(user)
    client = verified_client(user)
    client.get(reverse("admin:mfa_enroll"))
    pending = TOTPDevice.objects.get(user=user, confirmed=False)
    assert client.post(reverse("admin:mfa_enroll"), {"token": totp_code(pending)}).status_code == 200
    assert client.get("/admin/").status_code == 200
    assert other.get("/admin/").status_code == 302
    assert TOTPDevice.objects.filter(user=user).count() == 1


def _throttle(device, failures: int) -> None:
    """What django-otp records after ``failures`` wrong codes in a row, the last one just now."""
    device.throttling_failure_count = failures
    device.throttling_failure_timestamp = timezone.now()
    device.save()


def _seconds_to_wait(text: str) -> int:
    found = re.search(r"Too many wrong codes\. Wait (\d+) seconds?, then enter the current code\.", text)
    assert found, text
    return int(found.group(1))


def test_it_says_how_long_to_wait_when_throttling_refuses_a_right_login_code(client, make_user):
    user = make_user("enrolled", role=roles.OPERATOR, device=True)
    device = TOTPDevice.objects.get(user=user)
    _throttle(device, 5)  # django-otp waits 2 ** (5 - 1) = 16 seconds

    response = client.post(
        reverse("admin:login"), {"username": "enrolled", "password": PASSWORD, "otp_token": fresh_code(device)}
    )

    assert response.status_code == 200
    assert 14 <= _seconds_to_wait(response.content.decode()) <= 16
    assert client.get("/admin/").status_code == 302


def test_it_says_how_long_to_wait_when_throttling_refuses_a_right_enrollment_code(client, make_user):
    user = make_user("fresh", role=roles.OPERATOR)
    client.force_login(user)
    client.get(reverse("admin:mfa_enroll"))
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    _throttle(device, 4)  # 8 seconds

    response = client.post(reverse("admin:mfa_enroll"), {"token": totp_code(device)})

    body = response.content.decode()
    assert response.status_code == 400
    assert 6 <= _seconds_to_wait(body) <= 8
    assert "Check the time on your device" not in body
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    assert AuditEvent.objects.get(action="otp_failed").details == {"stage": "enrollment", "reason": "throttled"}
