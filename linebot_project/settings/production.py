"""Production: every service is real and every secret comes from the environment."""

from django.core.exceptions import ImproperlyConfigured

from core.db import pooled_connection_reset
from core.logging import logging_config
from monitoring.multiprocess import enable as enable_multiprocess_metrics

from .base import *  # noqa: F403
from .base import (
    CHANNEL_LAYER,
    cache_settings,
    channel_layer_settings,
    env,
    postgres_prepared_statements,
    simple_jwt_settings,
)

# Shared by every process of the deployment (a volume shared by the containers), so that /metrics
# and the dashboards see all of them.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", required=True)
if PROMETHEUS_MULTIPROC_DIR:
    enable_multiprocess_metrics(PROMETHEUS_MULTIPROC_DIR)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Never a placeholder: a missing key is reported at start-up (core.E001) and, where checks are
# skipped, stays unusable. Django refuses an empty SECRET_KEY the moment it is read, and a
# JWT cannot be signed or verified without a key.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", required=True) or ""
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", required=True)
SIMPLE_JWT = simple_jwt_settings(JWT_SIGNING_KEY)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", required=True) or []

DATABASES = {
    "default": postgres_prepared_statements(
        env.db("DATABASE_URL", required=True) or {"ENGINE": "django.db.backends.postgresql"}
    )
}
# "pool" (the default) or "persistent": see docs/PERFORMANCE.md, "Hot paths".
DB_CONNECTIONS = env.str("DJANGO_DB_CONNECTIONS", default="pool")
if DB_CONNECTIONS not in ("pool", "persistent"):
    raise ImproperlyConfigured(f"DJANGO_DB_CONNECTIONS must be pool or persistent, not {DB_CONNECTIONS!r}.")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and DB_CONNECTIONS == "persistent":
    # One session per thread kept across requests: no checkout, hand-back or reset per request.
    # For WSGI servers with a fixed set of threads (gunicorn's sync and gthread workers) only:
    # under ASGI each request's sync code may run in a new thread, and sessions would pile up.
    # core.postgres makes the health check a poll of the socket instead of a query.
    DATABASES["default"]["ENGINE"] = "core.postgres"
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=600)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # One psycopg pool per process. Under an ASGI server each request runs its sync code in
    # a fresh thread, so per-thread persistent connections (CONN_MAX_AGE) would pile up
    # until PostgreSQL refuses clients; the pool shares a bounded set across threads.
    # core.postgres drops a session the server ended when it is checked out, without the
    # extra query per checkout of CONN_HEALTH_CHECKS (docs/PERFORMANCE.md, "Hot paths").
    DATABASES["default"]["ENGINE"] = "core.postgres"
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DJANGO_DB_POOL_MIN_SIZE", default=2),
        "max_size": env.int("DJANGO_DB_POOL_MAX_SIZE", default=10),
        "timeout": env.float("DJANGO_DB_POOL_TIMEOUT", default=10.0),
        # Sessions are replaced now and then, and idle ones closed, whatever happened to them.
        "max_lifetime": env.float("DJANGO_DB_POOL_MAX_LIFETIME", default=3600.0),
        "max_idle": env.float("DJANGO_DB_POOL_MAX_IDLE", default=600.0),
        # A session-level advisory lock its user failed to release must not pass to the next user.
        "reset": pooled_connection_reset,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

REDIS_URL = env.url("REDIS_URL", required=True, schemes=("redis", "rediss", "unix"))
CACHES = cache_settings(REDIS_URL, REDIS_KEY_PREFIX)  # noqa: F405
CHANNEL_LAYERS = channel_layer_settings(REDIS_URL, REDIS_KEY_PREFIX, CHANNEL_LAYER)  # noqa: F405
CELERY_BROKER_URL = env.url("CELERY_BROKER_URL", required=True, schemes=("amqp", "amqps", "pyamqp", "redis", "rediss"))
if CELERY_BROKER_URL and CELERY_BROKER_URL.startswith("redis"):
    # With Redis as broker an unacknowledged task comes back after this timeout;
    # it must outlive the longest task or the task would run twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

LINE_CHANNEL_SECRET = env.str("LINE_CHANNEL_SECRET", required=True)
LINE_CHANNEL_ACCESS_TOKEN = env.str("LINE_CHANNEL_ACCESS_TOKEN", required=True)
# LINE fetches hero images only over HTTPS.
PUBLIC_BASE_URL = env.url("PUBLIC_BASE_URL", required=True, schemes=("https",)) or "https://missing.invalid"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- HTTPS and cookies ------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Probes talk plain HTTP inside the cluster.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
X_FRAME_OPTIONS = "DENY"
# A page that still names an http:// resource gets it over HTTPS.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {**CONTENT_SECURITY_POLICY["DIRECTIVES"], "upgrade-insecure-requests": True}  # noqa: F405
}

LOG_JSON = env.bool("LOG_JSON", default=True)
LOGGING = logging_config(json=LOG_JSON, level=LOG_LEVEL, extra_handlers=LOG_EXTRA_HANDLERS)  # noqa: F405
ENV_PROBLEMS = env.problems
