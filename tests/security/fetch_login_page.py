"""Run under production settings: fetch the admin login page over HTTPS, then sign in; print what came back."""

import json
import sys

import django

django.setup()

from django.test import Client, override_settings  # noqa: E402

# Only the static file names change: the manifest exists after collectstatic, which this check does not run.
override_settings(
    STORAGES={
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
).enable()


def cookies(response):
    return {
        name: {"secure": bool(m["secure"]), "httponly": bool(m["httponly"]), "samesite": m["samesite"]}
        for name, m in response.cookies.items()
    }


client = Client(HTTP_HOST="testserver")
page = client.get("/admin/login/", secure=True)
login = client.post(
    "/admin/login/?next=/admin/",
    {"username": sys.argv[1], "password": sys.argv[2]},
    secure=True,
)
plain = Client(HTTP_HOST="testserver").get("/admin/login/")
print(
    json.dumps(
        {
            "status": page.status_code,
            "headers": dict(page.headers),
            "cookies": cookies(page),
            "login_status": login.status_code,
            "login_cookies": cookies(login),
            "plain_http_status": plain.status_code,
            "plain_http_location": plain.headers.get("Location", ""),
        }
    )
)
