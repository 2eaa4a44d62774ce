import re

import jwt as pyjwt
import pytest
from django.conf import settings
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts import roles
from accounts.models import AuditEvent
from monitoring.models import Alert
from tests.accounts.conftest import PASSWORD, fresh_code, totp_code

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"


def _obtain(api_client, user, **extra):
    return api_client.post(TOKEN_URL, {"username": user.username, "password": PASSWORD, **extra}, format="json")


@pytest.fixture
def staff(make_user):
    return make_user("ops", role=roles.OPERATOR, device=True)


def _tokens(api_client, staff):
    device = TOTPDevice.objects.get(user=staff)
    response = _obtain(api_client, staff, otp=fresh_code(device))
    assert response.status_code == 200, response.content
    return response.json()


def test_it_needs_a_totp_code_from_a_staff_user_for_a_token(api_client, staff):
    response = _obtain(api_client, staff)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "otp_required"


def _obtain_with_a_wrong_code(api_client, staff):
    device = TOTPDevice.objects.get(user=staff)
    wrong = f"{(int(totp_code(device)) + 3) % 1_000_000:06d}"
    return _obtain(api_client, staff, otp=wrong)


def test_it_gives_no_token_for_a_wrong_totp_code(api_client, staff):
    assert _obtain_with_a_wrong_code(api_client, staff).status_code == 401


def test_it_audits_a_wrong_totp_code_on_the_token_endpoint(api_client, staff):
    _obtain_with_a_wrong_code(api_client, staff)
    assert AuditEvent.objects.get(action="otp_failed").details["stage"] == "jwt"


def test_it_says_how_long_to_wait_for_a_throttled_totp_device(api_client, staff):
    device = TOTPDevice.objects.get(user=staff)
    device.throttling_failure_count, device.throttling_failure_timestamp = 3, timezone.now()  # 4 seconds
    device.save()

    response = _obtain(api_client, staff, otp=fresh_code(device))

    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "otp_throttled"
    assert re.fullmatch(r"Too many wrong codes\. Wait [2-4] seconds, then enter the current code\.", error["message"])


def test_it_gives_no_token_to_a_user_who_must_change_a_one_time_password(api_client, staff):
    staff.must_change_password = True
    staff.save()

    response = _obtain(api_client, staff, otp=fresh_code(TOTPDevice.objects.get(user=staff)))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "password_change_required"


def test_it_makes_a_staff_user_without_a_device_enroll_first(api_client, make_user):
    user = make_user("fresh", role=roles.OPERATOR)
    response = _obtain(api_client, user, otp="123456")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "mfa_enrollment_required"


def test_it_refuses_a_username_longer_than_any_accounts_before_trying_the_sign_in(api_client):
    response = api_client.post(TOKEN_URL, {"username": "u" * 300, "password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert "username" in response.json()["error"]["details"]


def test_it_gives_no_token_for_a_wrong_password(api_client, staff):
    response = api_client.post(TOKEN_URL, {"username": "ops", "password": "nope nope nope"}, format="json")
    assert response.status_code == 401
    assert AuditEvent.objects.filter(action="login_failed", target="user:ops").exists()


def test_it_issues_a_short_lived_access_token_for_its_audience_not_signed_with_the_secret_key(api_client, staff):
    tokens = _tokens(api_client, staff)
    claims = pyjwt.decode(
        tokens["access"],
        settings.JWT_SIGNING_KEY,
        algorithms=["HS256"],
        audience="linebot-api",
        issuer="linebot-platform",
    )
    assert claims["exp"] - claims["iat"] == 300
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt.decode(tokens["access"], settings.SECRET_KEY, algorithms=["HS256"], audience="linebot-api")
    assert AuditEvent.objects.filter(action="jwt_obtained", actor=staff).exists()


def test_it_authenticates_api_calls_with_the_access_token(api_client, staff):
    tokens = _tokens(api_client, staff)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    response = api_client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["username"] == "ops"
    assert response.json()["auth"] == "jwt"


def test_it_refuses_a_token_for_another_audience(api_client, staff):
    forged = pyjwt.encode(
        {
            "user_id": str(staff.pk),
            "token_type": "access",
            "exp": 9999999999,
            "jti": "x",
            "aud": "someone-else",
            "iss": "linebot-platform",
        },
        settings.JWT_SIGNING_KEY,
        algorithm="HS256",
    )
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert api_client.get("/api/v1/me").status_code == 401


def test_it_rotates_the_refresh_token_and_blacklists_the_old_one(api_client, staff):
    tokens = _tokens(api_client, staff)
    response = api_client.post(REFRESH_URL, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 200
    rotated = response.json()
    assert rotated["refresh"] != tokens["refresh"]
    assert rotated["access"]
    old_jti = pyjwt.decode(tokens["refresh"], options={"verify_signature": False})["jti"]
    assert BlacklistedToken.objects.filter(token__jti=old_jti).exists()
    assert api_client.post(REFRESH_URL, {"refresh": rotated["refresh"]}, format="json").status_code == 200


def test_it_revokes_the_whole_token_family_when_a_rotated_refresh_token_is_reused(api_client, staff):
    tokens = _tokens(api_client, staff)
    rotated = api_client.post(REFRESH_URL, {"refresh": tokens["refresh"]}, format="json").json()
    replay = api_client.post(REFRESH_URL, {"refresh": tokens["refresh"]}, format="json")
    assert replay.status_code == 401
    assert AuditEvent.objects.filter(action="jwt_refresh_reuse", actor=staff).exists()
    alert = Alert.objects.get(kind="jwt_refresh_reuse")
    assert alert.severity == "critical"
    # The token the legitimate (or the stolen) client holds now is dead too.
    assert api_client.post(REFRESH_URL, {"refresh": rotated["refresh"]}, format="json").status_code == 401


def test_it_treats_a_garbage_refresh_token_as_an_ordinary_failure(api_client, staff):
    response = api_client.post(REFRESH_URL, {"refresh": "not.a.token"}, format="json")
    assert response.status_code == 401
    assert not Alert.objects.exists()
    assert not AuditEvent.objects.filter(action="jwt_refresh_reuse").exists()


def test_it_raises_an_alert_for_a_token_obtained_from_a_never_seen_address(api_client, staff):
    from rest_framework.test import APIClient

    device = TOTPDevice.objects.get(user=staff)
    first = APIClient(REMOTE_ADDR="192.0.2.10")
    first.post(TOKEN_URL, {"username": "ops", "password": PASSWORD, "otp": fresh_code(device)}, format="json")
    assert not Alert.objects.exists()
    second = APIClient(REMOTE_ADDR="192.0.2.99")
    response = second.post(
        TOKEN_URL, {"username": "ops", "password": PASSWORD, "otp": fresh_code(device)}, format="json"
    )
    assert response.status_code == 200
    assert Alert.objects.get(kind="staff_login_new_ip").details["ip_address"] == "192.0.2.99"


def test_it_locks_the_token_endpoint_after_repeated_wrong_passwords_or_codes(staff):
    from rest_framework.test import APIClient

    client = APIClient(REMOTE_ADDR="192.0.2.50")
    wrong_password = {"username": "ops", "password": "wrong wrong wrong"}
    wrong_code = {"username": "ops", "password": PASSWORD, "otp": "000000"}
    for body in (wrong_password, wrong_code, wrong_password, wrong_code):
        assert client.post(TOKEN_URL, body, format="json").status_code == 401
    fifth = client.post(TOKEN_URL, wrong_password, format="json")
    assert fifth.status_code == 429
    assert fifth.json()["error"]["code"] == "locked_out"
    assert int(fifth["Retry-After"]) == 15 * 60
    device = TOTPDevice.objects.get(user=staff)
    locked = client.post(TOKEN_URL, {"username": "ops", "password": PASSWORD, "otp": fresh_code(device)}, format="json")
    assert locked.status_code == 429
    assert "access" not in locked.json()
    assert AuditEvent.objects.filter(action="locked_out", target="user:ops").exists()
