import base64
import re

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import roles
from accounts.models import AuditEvent
from monitoring.models import Alert
from tests.accounts.conftest import PASSWORD, fresh_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _code_from_secret(secret: str, *, offset: int = 0) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key, step=30, t0=0, digits=6, drift=0)
    totp.time += offset * 30
    return f"{totp.token():06d}"


def _submit_login(page, username, password, otp=""):
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    if otp:
        page.fill("#id_otp_token", otp)
    page.click("#login-form input[type=submit]")
    page.wait_for_load_state()


def _login_with_device(page, user):
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    _submit_login(page, user.username, PASSWORD, fresh_code(device))
    assert page.url.endswith("/admin/"), page.content()


def test_it_enrolls_a_new_staff_user_in_totp_and_lets_them_into_the_admin(page, make_user):
    make_user("newcomer", role=roles.OPERATOR)
    page.goto("/admin/")
    assert "/admin/login/" in page.url
    _submit_login(page, "newcomer", PASSWORD)
    assert page.url.endswith("/admin/mfa/enroll/")
    assert page.locator("#totp-qr svg").count() == 1
    secret = page.inner_text("#totp-secret").strip()
    page.fill("#id_token", _code_from_secret(secret))
    page.click("#enroll-form input[type=submit]")
    page.wait_for_load_state()
    codes = page.locator("#backup-codes li").all_inner_texts()
    assert len(codes) == 10
    page.click("#continue-to-admin")
    page.wait_for_load_state()
    assert page.url.endswith("/admin/")
    assert page.locator("#site-name").inner_text().strip() == "LINE bot ops console"
    # The next login asks for the code from the enrolled device.
    page.click("#logout-form button")
    page.wait_for_load_state()
    _submit_login(page, "newcomer", PASSWORD, _code_from_secret(secret, offset=1))
    assert page.url.endswith("/admin/")
    assert AuditEvent.objects.filter(action="device_enrolled", actor_username="newcomer").exists()


def test_it_refuses_a_wrong_code(page, make_user):
    user = make_user("enrolled", role=roles.OPERATOR, device=True)
    device = TOTPDevice.objects.get(user=user)
    good = fresh_code(device)
    wrong = f"{(int(good) + 123_457) % 1_000_000:06d}"
    _submit_login(page, "enrolled", PASSWORD, wrong)
    assert "/admin/login/" in page.url
    assert "not valid" in page.inner_text("#login-error")
    page.goto("/admin/")
    assert "/admin/login/" in page.url
    assert AuditEvent.objects.filter(action="otp_failed", actor=user).exists()


def test_it_refuses_a_wrong_enrollment_code(page, make_user):
    make_user("newcomer", role=roles.OPERATOR)
    _submit_login(page, "newcomer", PASSWORD)
    secret = page.inner_text("#totp-secret").strip()
    good = _code_from_secret(secret)
    page.fill("#id_token", f"{(int(good) + 500_000) % 1_000_000:06d}")
    page.click("#enroll-form input[type=submit]")
    page.wait_for_load_state()
    assert "not valid" in page.content()
    page.goto("/admin/")
    assert page.url.endswith("/admin/mfa/enroll/")


def test_it_locks_the_account_after_five_wrong_passwords(page, make_user):
    make_user("target", role=roles.OPERATOR, device=True)
    for _ in range(5):
        _submit_login(page, "target", "not the password at all")
    _submit_login(page, "target", PASSWORD)
    assert page.locator("#lockout-title").inner_text() == "Account locked"
    assert AuditEvent.objects.filter(action="locked_out", target="user:target").exists()


def test_it_keeps_a_content_editor_out_of_the_staff_and_configuration_pages(page, make_user):
    _login_with_device(page, make_user("editor", role=roles.CONTENT_EDITOR, device=True))
    index = page.content()
    assert "/admin/accounts/user/" not in index
    assert "/admin/core/runtimesetting/" not in index
    for path in ("/admin/accounts/user/", "/admin/auth/group/", "/admin/core/runtimesetting/"):
        response = page.goto(path)
        assert response.status == 403, path


def test_it_lets_an_analyst_change_nothing(page, make_user):
    alert = Alert.objects.create(kind="queue", severity="warning", message="backlog")
    _login_with_device(page, make_user("analyst", role=roles.ANALYST, device=True))
    assert page.locator("a.addlink").count() == 0
    page.goto(f"/admin/monitoring/alert/{alert.pk}/change/")
    assert page.locator("input[name=_save]").count() == 0
    assert re.search(r"View alert", page.content())
    page.goto("/admin/monitoring/alert/")
    assert page.locator("select[name=action]").count() == 0
    for path in (
        "/admin/monitoring/alert/add/",
        f"/admin/monitoring/alert/{alert.pk}/delete/",
        "/admin/accounts/user/",
    ):
        assert page.goto(path).status == 403, path
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
