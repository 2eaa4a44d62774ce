"""The demo superuser scripts/run.sh creates: an Administrator whose one-time password must be replaced."""

import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts import roles
from accounts.models import AuditEvent, User

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "my own long passphrase 42"


def _create_demo_superuser() -> tuple[User, str]:
    out = io.StringIO()
    call_command("ensure_demo_superuser", stdout=out)
    password = re.search(r"one-time password: (\S+)", out.getvalue()).group(1)
    return User.objects.get(username="admin"), password


def test_it_creates_an_administrator_who_must_change_the_one_time_password():
    user, password = _create_demo_superuser()

    assert user.is_superuser and user.is_staff and user.check_password(password)
    assert roles.user_roles(user) == [roles.ADMINISTRATOR]
    assert user.must_change_password
    event = AuditEvent.objects.get(action="role_assigned", target="user:admin")
    assert event.details == {"role": roles.ADMINISTRATOR, "by": "ensure_demo_superuser", "must_change_password": True}


def test_it_creates_no_second_superuser(django_user_model):
    django_user_model.objects.create_superuser("root", "", "a-long-password-123")
    out = io.StringIO()

    call_command("ensure_demo_superuser", stdout=out)

    assert "already exists" in out.getvalue()
    assert not User.objects.filter(username="admin").exists()


def test_it_holds_the_user_on_the_password_change_page_until_the_password_changed(verified_client):
    user, password = _create_demo_superuser()
    client = verified_client(user)

    for path in ("/admin/", "/admin/accounts/user/", "/admin/core/runtimesetting/"):
        response = client.get(path)
        assert (response.status_code, response["Location"]) == (302, reverse("admin:password_change")), path
    page = client.get(reverse("admin:password_change"))
    assert "You signed in with a one-time password" in page.content.decode()

    response = client.post(
        reverse("admin:password_change"),
        {"old_password": password, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.must_change_password and user.check_password(NEW_PASSWORD)
    event = AuditEvent.objects.get(action="password_changed", actor=user)
    assert event.details == {"by": "self", "replaced_one_time_password": True}
    assert client.get("/admin/").status_code == 200


def test_it_sets_up_two_factor_authentication_before_the_password_change(client):
    user, password = _create_demo_superuser()

    client.post(reverse("admin:login"), {"username": "admin", "password": password, "next": "/admin/"})

    assert client.get("/admin/")["Location"] == reverse("admin:mfa_enroll")
    assert client.get(reverse("admin:mfa_enroll")).status_code == 200
    user.refresh_from_db()
    assert user.must_change_password


def test_it_keeps_the_user_on_the_page_when_a_new_password_is_refused(verified_client):
    user, password = _create_demo_superuser()
    client = verified_client(user)

    response = client.post(
        reverse("admin:password_change"), {"old_password": password, "new_password1": "short", "new_password2": "short"}
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.must_change_password
    assert client.get("/admin/")["Location"] == reverse("admin:password_change")
