"""The embedded default: runs fully offline with no environment set.

SQLite under ``var/``, local-memory cache, in-memory channel layer and a
filesystem Celery broker under ``var/`` that a real worker process consumes.
Setting ``DATABASE_URL``, ``REDIS_URL`` or ``CELERY_BROKER_URL`` switches each
piece to the real service.
"""

import os
import secrets

from core.env import SIMULATOR_ACCESS_TOKEN, SIMULATOR_CHANNEL_SECRET
from monitoring.multiprocess import enable as enable_multiprocess_metrics

from .base import *  # noqa: F403
from .base import REDIS_URL, VAR_DIR, env, postgres_prepared_statements, simple_jwt_settings

VAR_DIR.mkdir(exist_ok=True)

# Before anything makes a metric: every process started from this tree shares one directory.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default=None) or str(VAR_DIR / "prometheus")
enable_multiprocess_metrics(PROMETHEUS_MULTIPROC_DIR)


def _local_secret_key(name: str = "secret_key") -> str:
    # Stable across restarts so sessions survive, but never committed.
    path = VAR_DIR / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=None) or _local_secret_key()
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default=None) or _local_secret_key("jwt_signing_key")
SIMPLE_JWT = simple_jwt_settings(JWT_SIGNING_KEY)

DATABASES = {
    "default": postgres_prepared_statements(env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"))
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, worker and beat share one file: WAL and immediate
    # transactions avoid "database is locked" under concurrent writers.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

_BROKER_DIR = VAR_DIR / "celery-broker"
if not CELERY_BROKER_URL:  # noqa: F405
    for sub in ("queue", "processed", "control"):
        (_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        # Without it kombu keeps its exchange tables in ./control, wherever the process started.
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }

# With no model configured the bot talks to the LLM double that scripts/run.sh starts
# (python -m linesim.llm --port 8082); it accepts exactly this key.
if LLM_PROVIDER == "azure" and not AZURE_OPENAI_ENDPOINT:  # noqa: F405
    AZURE_OPENAI_ENDPOINT = "http://127.0.0.1:8082"
    AZURE_OPENAI_API_KEY = AZURE_OPENAI_API_KEY or "local-llm-key"  # noqa: F405
    AZURE_OPENAI_DEPLOYMENT = AZURE_OPENAI_DEPLOYMENT or "gpt-4o-mini"  # noqa: F405

# Offline, the bot talks to the local LINE double (python -m linesim.line) unless told otherwise.
# The double's published credentials; core.checks refuses them once a LINE base URL leaves this machine.
LINE_CHANNEL_SECRET = env.str("LINE_CHANNEL_SECRET", default=None) or SIMULATOR_CHANNEL_SECRET
LINE_CHANNEL_ACCESS_TOKEN = env.str("LINE_CHANNEL_ACCESS_TOKEN", default=None) or SIMULATOR_ACCESS_TOKEN
if "LINE_API_BASE_URL" not in os.environ:
    LINE_API_BASE_URL = "http://127.0.0.1:8081"
    # scripts/run.sh starts the double there; the front page links its chat simulator.
    LINE_SIMULATOR_URL = f"{LINE_API_BASE_URL}/simulator"
if "LINE_DATA_API_BASE_URL" not in os.environ:
    LINE_DATA_API_BASE_URL = "http://127.0.0.1:8081"

# With the in-memory channel layer only the web server's own consumers can be reached: it runs the
# dashboard ticker itself (scripts/run.sh starts run_dashboard_ticker only when REDIS_URL is set).
DASHBOARD_TICKER_IN_PROCESS = not REDIS_URL

WHITENOISE_USE_FINDERS = True
ENV_PROBLEMS = env.problems
