"""The environment a production process needs, pointed at the local test services."""

import os
import secrets
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def production_env(*, database_url: str, **overrides) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONPATH": str(REPO),
        "DJANGO_SETTINGS_MODULE": "linebot_project.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "testserver,bot.example.com",
        "DATABASE_URL": database_url,
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672//",
        "LINE_CHANNEL_SECRET": secrets.token_hex(16),
        "LINE_CHANNEL_ACCESS_TOKEN": secrets.token_urlsafe(64),
        "JWT_SIGNING_KEY": secrets.token_urlsafe(64),
        "API_KEY_PEPPER": secrets.token_urlsafe(32),
        "PUBLIC_BASE_URL": "https://bot.example.com",
        # The test run's own metrics directory (linebot_project/settings/test.py made it).
        "PROMETHEUS_MULTIPROC_DIR": os.environ.get("PROMETHEUS_MULTIPROC_DIR"),
    }
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def database_url(connection) -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
