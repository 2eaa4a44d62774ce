"""The front page the ops console's "View site" link leads to, and the site icon."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib import admin
from django.templatetags.static import static
from django.test import Client

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]


def _links(body: str) -> dict[str, str]:
    return {name: href for href, name in re.findall(r'<a href="([^"]+)">([^<]+)</a>', body)}


def test_it_links_the_ops_console_the_api_docs_and_the_health_checks():
    response = Client().get("/")

    assert response.status_code == 200
    body = response.content.decode()
    assert _links(body) == {
        "Ops console": "/admin/",
        "API documentation": "/api/v1/docs/",
        "Liveness": "/healthz",
        "Readiness": "/readyz",
    }
    assert "<script" not in body and "style=" not in body and "<style" not in body
    assert "Content-Security-Policy" in response.headers


def test_it_links_the_line_simulator_when_the_settings_name_one(settings):
    settings.LINE_SIMULATOR_URL = "http://127.0.0.1:8081/simulator"

    body = Client().get("/").content.decode()

    assert _links(body)["LINE simulator"] == "http://127.0.0.1:8081/simulator"


def test_it_points_the_ops_consoles_view_site_link_at_the_front_page():
    assert admin.site.site_url == "/"


def test_it_serves_a_site_icon():
    client = Client()

    redirect = client.get("/favicon.ico")
    icon = client.get(redirect["Location"])

    assert redirect.status_code == 302 and redirect["Location"] == static("core/favicon.ico")
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # the ICO header


def test_it_names_the_icon_on_the_front_page_and_the_ops_console(verified_client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "", "a-long-password-123")
    icon = f'<link rel="icon" href="{static("core/favicon.ico")}"'

    assert icon in Client().get("/").content.decode()
    assert icon in Client().get("/admin/login/").content.decode()
    assert icon in verified_client(user).get("/admin/").content.decode()


def _local_setting(name: str, **env) -> str:
    """A setting as the embedded default (linebot_project.settings.local) computes it, in a fresh process."""
    result = subprocess.run(
        [sys.executable, "-c", f"from django.conf import settings; print(settings.{name})"],
        cwd=REPO,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "PYTHONPATH": str(REPO),
            "DJANGO_SETTINGS_MODULE": "linebot_project.settings.local",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_it_links_the_simulator_of_the_line_double_run_sh_starts_in_local_settings():
    assert _local_setting("LINE_SIMULATOR_URL") == "http://127.0.0.1:8081/simulator"
    assert _local_setting("LINE_SIMULATOR_URL", LINE_API_BASE_URL="https://api.line.me") == "None"
