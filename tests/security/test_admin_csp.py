"""Admin pages work under the policy: none of them needs inline code that the CSP would block."""

import pytest
from django.urls import reverse

from core.models import RuntimeSetting
from tests.security.inline_code import inline_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client, django_user_model):
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = django_user_model.objects.create_superuser(username="root", password="a-long-test-password-123")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.mark.parametrize(
    "url",
    [
        lambda: reverse("admin:index"),
        lambda: reverse("admin:core_runtimesetting_changelist"),
        lambda: reverse("admin:core_runtimesetting_change", args=[RuntimeSetting.objects.get(key="persona").pk]),
        lambda: reverse("admin:core_runtimesettingversion_changelist"),
        lambda: reverse("admin:accounts_user_changelist"),
        lambda: reverse("admin:accounts_user_add"),
    ],
    ids=["index", "settings", "setting-change", "versions", "users", "user-add"],
)
def test_admin_pages_render_without_inline_code(superuser_client, url):
    response = superuser_client.get(url())
    assert response.status_code == 200
    assert "Content-Security-Policy" in response.headers
    assert inline_code(response.content.decode()) == []
