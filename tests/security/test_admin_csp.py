"""Admin pages work under the policy: none of them needs inline code that the CSP would block."""

import base64
import hashlib
import re

import pytest
from django.urls import reverse

from core.models import RuntimeSetting
from tests.security.inline_code import inline_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(verified_client, django_user_model):
    return verified_client(
        django_user_model.objects.create_superuser(username="root", password="a-long-test-password-123")
    )


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
def test_it_renders_admin_pages_without_inline_code(superuser_client, url):
    response = superuser_client.get(url())
    assert response.status_code == 200
    assert "Content-Security-Policy" in response.headers
    assert inline_code(response.content.decode()) == []


def test_it_runs_no_inline_script_on_the_api_docs_page_and_allows_its_style_block_by_hash(superuser_client):
    response = superuser_client.get("/api/v1/docs/")
    html = response.content.decode()
    style_src = response["Content-Security-Policy"].split("style-src ")[1].split(";")[0].split()

    assert response.status_code == 200
    assert [finding for finding in inline_code(html) if finding != "<style> block"] == []
    for block in re.findall(r"<style>(.*?)</style>", html, re.S):
        digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in style_src


def test_it_renders_the_mfa_enrollment_page_without_inline_code(client, django_user_model):
    user = django_user_model.objects.create_user(username="newbie", password="a-long-test-password-123", is_staff=True)
    client.force_login(user)
    response = client.get(reverse("admin:mfa_enroll"))
    assert response.status_code == 200
    assert "<svg" in response.content.decode()
    assert inline_code(response.content.decode()) == []
