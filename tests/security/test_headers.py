"""The admin login page carries CSP, framing, sniffing and referrer headers; production adds HSTS and Secure cookies."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from tests.security.inline_code import inline_code
from tests.security.production_env import REPO, database_url, production_env

PASSWORD = "a-long-test-password-123"


def _directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.django_db
def test_it_sends_the_security_headers_with_the_login_page(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    csp = _directives(response["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"][0] == "'self'"
    assert "'unsafe-inline'" not in csp["style-src"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    csrf = response.cookies["csrftoken"]
    assert csrf["httponly"] is True
    assert csrf["samesite"] == "Lax"


@pytest.mark.django_db
def test_it_serves_a_login_page_without_inline_script_style_or_event_handler(client):
    assert inline_code(client.get("/admin/login/").content.decode()) == []


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_it_adds_hsts_and_secure_cookies_under_production_settings(django_user_model):
    # A staff user without a device signs in with the password alone (then enrolls), which sets the session cookie.
    user = django_user_model.objects.create_user(username="hedwig", is_staff=True)
    # Production does not accept the test suite's fast MD5 hashes.
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    user.save()
    result = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("fetch_login_page.py")), "hedwig", PASSWORD],
        cwd=REPO,
        env=production_env(database_url=database_url(connection), LOG_LEVEL="ERROR"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    headers = seen["headers"]

    assert seen["status"] == 200
    hsts = headers["Strict-Transport-Security"]
    max_age = int(hsts.split("max-age=")[1].split(";")[0])
    assert max_age >= 183 * 24 * 3600
    assert "includeSubDomains" in hsts
    assert "preload" in hsts
    csp = _directives(headers["Content-Security-Policy"])
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert "upgrade-insecure-requests" in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert seen["cookies"]["csrftoken"] == {"secure": True, "httponly": True, "samesite": "Lax"}

    assert seen["login_status"] == 302
    assert seen["login_cookies"]["sessionid"] == {"secure": True, "httponly": True, "samesite": "Lax"}

    assert seen["plain_http_status"] == 301
    assert seen["plain_http_location"].startswith("https://")
