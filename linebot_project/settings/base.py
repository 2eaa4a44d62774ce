"""Settings shared by every environment.

Every value that differs between deployments comes from the environment
through :class:`core.env.EnvReader`; see the table in README.md.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab

from core.env import EnvReader

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = EnvReader()

# --- Django -------------------------------------------------------------------------
DEBUG = False
ALLOWED_HOSTS: list[str] = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# "daphne" is not listed: it only replaces runserver, and importing Twisted would slow every command;
# the servers are started as daphne and gunicorn themselves (scripts/run.sh, docker/compose.yml).
INSTALLED_APPS = [
    "accounts.apps.OpsAdminConfig",  # django.contrib.admin with the MFA ops console as admin.site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "django_celery_beat",
    "channels",
    "core",
    "accounts",
    "conversations",
    "richmessages",
    "analytics",
    "monitoring",
    # Last: ends start-up (the collector held off since linebot_project was imported, core.startup).
    "linebot_project.apps.ProjectConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.middleware.CorrelationIdMiddleware",
    "core.middleware.NulInQueryMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.ratelimit.RateLimitMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.sessions.SessionTimeoutMiddleware",
    "accounts.enrollment.EnrollmentRequiredMiddleware",
    "accounts.password_change.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "linebot_project.urls"
WSGI_APPLICATION = "linebot_project.wsgi.application"
ASGI_APPLICATION = "linebot_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# LINE posts at most 1 MiB bodies; larger bodies are refused before parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# --- Public URLs ----------------------------------------------------------------------
# Where LINE's apps reach this deployment from outside, e.g. https://bot.example.com: hero images
# of rich messages are fetched from absolute URLs built on it. Required (HTTPS) in production;
# locally the address scripts/run.sh serves on.
PUBLIC_BASE_URL: str = env.url("PUBLIC_BASE_URL", default="http://127.0.0.1:8000", schemes=("http", "https"))
# Rich-message images are read through STORAGES["default"] and served by the app; with this on, the
# app redirects to the storage backend's own URL instead (a bucket or CDN that serves public files).
RICH_IMAGES_REDIRECT: bool = env.bool("RICH_IMAGES_REDIRECT", default=False)

# --- Services -------------------------------------------------------------------------
REDIS_URL: str | None = env.url("REDIS_URL", default=None, schemes=("redis", "rediss", "unix"))
CELERY_BROKER_URL: str | None = env.url(
    "CELERY_BROKER_URL", default=None, schemes=("amqp", "amqps", "pyamqp", "redis", "rediss", "filesystem", "memory")
)

# Every key the project writes to Redis (cache, channel layer, conversation memory, counters) starts with
# this, so several deployments or test runs can share one Redis server.
REDIS_KEY_PREFIX: str = env.str("REDIS_KEY_PREFIX", default="linebot")


def postgres_prepared_statements(database: dict) -> dict:
    """``database`` with its repeated statements planned once per session, when it is PostgreSQL.

    Django binds parameters on the client by default, so PostgreSQL parses and plans every statement
    anew: 44 % of its CPU for a webhook's answer (docs/PERFORMANCE.md, "Prepared statements, and a
    cheaper publish"). Bound on the server, a statement is prepared by psycopg once it has run
    ``prepare_threshold`` times in a session. A transaction-mode pooler without prepared-statement
    support (PgBouncer before 1.21) needs them off: ``DJANGO_DB_PREPARED_STATEMENTS=false``.
    """
    if database["ENGINE"] == "django.db.backends.postgresql" and env.bool(
        "DJANGO_DB_PREPARED_STATEMENTS", default=True
    ):
        options = database.setdefault("OPTIONS", {})
        options.setdefault("server_side_binding", True)
        options.setdefault("prepare_threshold", 5)
    return database


def cache_settings(redis_url: str | None, key_prefix: str = "") -> dict:
    if redis_url:
        return {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": redis_url,
                "KEY_PREFIX": f"{key_prefix}:cache" if key_prefix else "cache",
                "OPTIONS": {
                    "SOCKET_CONNECT_TIMEOUT": 1,
                    "SOCKET_TIMEOUT": 1,
                    # A Redis outage degrades the cache to misses instead of errors.
                    "IGNORE_EXCEPTIONS": True,
                },
            }
        }
    return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "linebot"}}


# The Redis channel layer: "pubsub" (RedisPubSubChannelLayer) publishes a group message once and
# each server process hands it to its own members; "core" (RedisChannelLayer) copies it into every
# member's list, which drops messages past the per-channel capacity once a group has a few hundred
# members. Measured in docs/PERFORMANCE.md ("Dashboards"); "core" stays selectable for that comparison.
CHANNEL_LAYER: str = env.str("CHANNEL_LAYER", default="pubsub")
if CHANNEL_LAYER not in ("pubsub", "core"):
    from core.env import EnvProblem

    env.problems.append(EnvProblem("CHANNEL_LAYER", "CHANNEL_LAYER is malformed: expected pubsub or core"))


def channel_layer_settings(redis_url: str | None, key_prefix: str = "", kind: str = "pubsub") -> dict:
    if not redis_url:
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # Under the deployment's prefix too: channels-redis's flush() deletes everything under its own.
    prefix = f"{key_prefix}:asgi" if key_prefix else "asgi"
    if kind == "core":
        return {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [redis_url], "prefix": prefix},
            }
        }
    return {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_url], "prefix": prefix},
        }
    }


CACHES = cache_settings(REDIS_URL, REDIS_KEY_PREFIX)
CHANNEL_LAYERS = channel_layer_settings(REDIS_URL, REDIS_KEY_PREFIX, CHANNEL_LAYER)

# --- Celery ---------------------------------------------------------------------------
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only once it finished, and a worker that dies mid-task
# gives its task back to the broker: together with idempotent tasks this means
# no event is lost and none is handled twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=90)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=120)
# A worker whose pool cannot enforce the hard limit (threads, solo) stops itself when a task outlives it,
# after this long for its other tasks to finish (core.task_watchdog).
WORKER_OVERRUN_GRACE_SECONDS: float = env.float("WORKER_OVERRUN_GRACE_SECONDS", default=15)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's defaults, read on every publish: named here, they are found in the first place Celery looks.
# A key left out is searched for under two names in its own changes and in these settings, each miss an
# exception, before the defaults: these were a fifth of a publish's CPU (docs/PERFORMANCE.md).
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_SEND_SENT_EVENT = False
CELERY_BROKER_POOL_ACQUIRE_TIMEOUT = None
# Celery's Django fix-up closes every database connection before and after each task (and a
# prefork child's whole pool), so each task connected to PostgreSQL anew. It does so only every
# this many tasks instead; between them linebot_project/celery.py treats a task as Django treats a
# request (close_old_connections: CONN_MAX_AGE, broken sessions, the health check).
CELERY_DB_REUSE_MAX = 10_000
# django-celery-beat's database scheduler, binding a fresh correlation id for each task it sends.
CELERY_BEAT_SCHEDULER = "core.beat:CorrelatedScheduler"
CELERY_TIMEZONE = TIME_ZONE

# --- LINE -----------------------------------------------------------------------------
LINE_CHANNEL_SECRET: str | None = env.str("LINE_CHANNEL_SECRET", default=None)
LINE_CHANNEL_ACCESS_TOKEN: str | None = env.str("LINE_CHANNEL_ACCESS_TOKEN", default=None)
LINE_API_BASE_URL: str = env.url("LINE_API_BASE_URL", default="https://api.line.me", schemes=("http", "https"))
LINE_DATA_API_BASE_URL: str = env.url(
    "LINE_DATA_API_BASE_URL", default="https://api-data.line.me", schemes=("http", "https")
)

# --- Conversations ----------------------------------------------------------------------
# Defaults for the conversation tunables; conversations/tunables.py is the one place that reads them.
# The one default persona; the runtime setting ``persona`` overrides it without a restart.
CONVERSATION_PERSONA: str = env.str(
    "CONVERSATION_PERSONA",
    default=(
        "You are the friendly assistant of this LINE official account. Answer in the language the user writes in, "
        "briefly and politely. If you are not sure, say so instead of guessing."
    ),
)
CONVERSATION_MODEL: str | None = env.str("CONVERSATION_MODEL", default=None)
CONVERSATION_TEMPERATURE: float = env.float("CONVERSATION_TEMPERATURE", default=0.7)
CONVERSATION_MAX_TOKENS: int = env.int("CONVERSATION_MAX_TOKENS", default=800)
CONVERSATION_CONTEXT_TOKENS: int = env.int("CONVERSATION_CONTEXT_TOKENS", default=3000)
CONVERSATION_CONTEXT_TTL: int = env.int("CONVERSATION_CONTEXT_TTL", default=7 * 24 * 3600)
CONVERSATION_DAILY_TOKEN_BUDGET: int = env.int("CONVERSATION_DAILY_TOKEN_BUDGET", default=50_000)
CONVERSATION_MESSAGES_PER_MINUTE: int = env.int("CONVERSATION_MESSAGES_PER_MINUTE", default=20)
CONVERSATION_GROUP_PREFIXES: list[str] = env.list("CONVERSATION_GROUP_PREFIXES", default=["/bot", "@bot"])
CONVERSATION_REPLY_BUDGET_SECONDS: float = env.float("CONVERSATION_REPLY_BUDGET_SECONDS", default=50.0)
CONVERSATION_IMAGE_MAX_SIDE: int = env.int("CONVERSATION_IMAGE_MAX_SIDE", default=1024)
CONVERSATION_FILE_MAX_BYTES: int = env.int("CONVERSATION_FILE_MAX_BYTES", default=20 * 1024 * 1024)
CONVERSATION_FILE_MAX_CHARS: int = env.int("CONVERSATION_FILE_MAX_CHARS", default=12_000)
LINE_WEBHOOK_MAX_BODY_BYTES: int = env.int("LINE_WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)
LINE_API_TIMEOUT: float = env.float("LINE_API_TIMEOUT", default=10.0)
# How often beat reads LINE's monthly quota for the alert rules' series (two LINE calls each time).
LINE_QUOTA_SAMPLE_SECONDS: int = env.int("LINE_QUOTA_SAMPLE_SECONDS", default=900)
# The LINE double's chat simulator, linked from the front page; local settings set it.
LINE_SIMULATOR_URL: str | None = None
LINE_API_ATTEMPTS: int = env.int("LINE_API_ATTEMPTS", default=4)
LINE_API_RETRY_WAIT: float = env.float("LINE_API_RETRY_WAIT", default=0.3)
# A dedicated queue lets webhook processing get its own workers; empty means Celery's default queue.
CONVERSATION_TASK_QUEUE: str = env.str("CONVERSATION_TASK_QUEUE", default="")
# How a stored event reaches the workers: "publish" (the web tier publishes it after the insert
# commits) or "outbox" (the web tier only inserts; `manage.py conversations_relay` publishes
# stored events in batches). docs/PERFORMANCE.md, "Hot paths", compares the two.
CONVERSATION_DISPATCH: str = env.str("CONVERSATION_DISPATCH", default="publish")
# The relay's wait between rounds while events come, and its longest once none has come for a second
# (conversations.relay.RelayPace). The first keeps its older name, which deployments already set.
CONVERSATION_RELAY_IDLE_SECONDS: float = env.float("CONVERSATION_RELAY_IDLE_SECONDS", default=0.02)
CONVERSATION_RELAY_QUIET_SECONDS: float = env.float("CONVERSATION_RELAY_QUIET_SECONDS", default=0.1)
# The most events the relay packs into one task message while the workers are behind; 1 packs none
# (conversations.packing).
CONVERSATION_EVENTS_PER_TASK: int = env.int("CONVERSATION_EVENTS_PER_TASK", default=8)
# The most webhook events a web process's threads, acknowledging at the same moment, write in one
# statement and one commit (core.write_group); 1 writes each alone.
CONVERSATION_EVENTS_PER_INSERT: int = env.int("CONVERSATION_EVENTS_PER_INSERT", default=8)
# On PostgreSQL an answer's writes commit without waiting for the disk until the move to "sending", whose commit
# makes them all durable before LINE is called (core.db, conversations.processing); false makes each one wait.
CONVERSATION_RELAXED_COMMITS: bool = env.bool("CONVERSATION_RELAXED_COMMITS", default=True)
# Events not final after this long are queued again (a lost publish, a task out of retries).
CONVERSATION_STALLED_AFTER_SECONDS: int = env.int("CONVERSATION_STALLED_AFTER_SECONDS", default=300)
# LINE Insight sync (analytics): LINE allows 60 insight requests an hour per channel, shared by every process.
LINE_INSIGHT_REQUESTS_PER_HOUR: int = env.int("LINE_INSIGHT_REQUESTS_PER_HOUR", default=60)
# A followed broadcast, narrowcast or unit is fetched again this long after the last try (until LINE stops updating).
INSIGHT_REFRESH_SECONDS: int = env.int("INSIGHT_REFRESH_SECONDS", default=6 * 3600)
# A day LINE has not calculated yet ("unready") is asked again after this long.
INSIGHT_UNREADY_RETRY_SECONDS: int = env.int("INSIGHT_UNREADY_RETRY_SECONDS", default=3 * 3600)
# Daily follower and delivery counts are kept for the last N days (fetched again only while unready).
INSIGHT_BACKFILL_DAYS: int = env.int("INSIGHT_BACKFILL_DAYS", default=7)
# One sync run stops after this long and resumes at the next (well inside the task time limits).
INSIGHT_SYNC_MAX_SECONDS: float = env.float("INSIGHT_SYNC_MAX_SECONDS", default=60.0)

# --- Personal data: retention (defaults of the runtime settings "retention.*"; 0 keeps for ever) ----------
RETENTION_MESSAGE_TEXT_DAYS: int = env.int("RETENTION_MESSAGE_TEXT_DAYS", default=365)
RETENTION_WEBHOOK_PAYLOAD_DAYS: int = env.int("RETENTION_WEBHOOK_PAYLOAD_DAYS", default=30)
RETENTION_EVENT_DAYS: int = env.int("RETENTION_EVENT_DAYS", default=730)
RETENTION_DROP_TEXTS_ON_BLOCK: bool = env.bool("RETENTION_DROP_TEXTS_ON_BLOCK", default=True)
# Queries slower than this are logged with their fingerprint and counted (monitoring.slow_queries); 0 turns it off.
SLOW_QUERY_MS: float = env.float("SLOW_QUERY_MS", default=200.0)
# Analytics reports count days in this zone; a user's own profile uses their zone when known.
ANALYTICS_TIME_ZONE: str = env.str("ANALYTICS_TIME_ZONE", default="Asia/Bangkok")

# --- Campaigns ----------------------------------------------------------------------------
# Multicast calls a second, shared by every worker through a token bucket in Redis; LINE allows 200 a
# second per channel, and the headroom is for multicasts sent by anything else on the channel.
CAMPAIGN_MULTICAST_PER_SECOND: float = env.float("CAMPAIGN_MULTICAST_PER_SECOND", default=180.0)
# A dedicated queue lets campaign deliveries get their own workers; empty means Celery's default queue.
CAMPAIGN_TASK_QUEUE: str = env.str("CAMPAIGN_TASK_QUEUE", default="")
# A send's audience is prepared in parts of about this many users, each a task of its own (in parallel).
CAMPAIGN_PART_SIZE: int = env.int("CAMPAIGN_PART_SIZE", default=50_000)

# One entry per kind of work, for all campaigns together: never an entry per campaign.
CELERY_BEAT_SCHEDULE = {
    "requeue-stalled-webhook-events": {
        "task": "conversations.tasks.requeue_stalled_webhook_events",
        "schedule": 60.0,
    },
    # Each run fetches what LINE's hourly budget allows and leaves the rest to the next.
    "sync-line-insight": {
        "task": "analytics.insight_tasks.sync_line_insight",
        "schedule": 600.0,
    },
    # Rollups of the events added since the last run (reports read rollups, never raw events).
    "analytics-update-rollups": {"task": "analytics.tasks.update_rollups", "schedule": 300.0},
    "campaigns-claim-due-sends": {"task": "richmessages.campaigns.claim_due_sends", "schedule": 60.0},
    "campaigns-release-held-recipients": {"task": "richmessages.campaigns.release_held_recipients", "schedule": 60.0},
    "campaigns-dispatch-step-messages": {"task": "richmessages.campaigns.dispatch_step_messages", "schedule": 60.0},
    "campaigns-requeue-stalled-work": {"task": "richmessages.campaigns.requeue_stalled_work", "schedule": 60.0},
    # Alerting: one sample of every series a minute, then the rules over them; old samples pruned daily.
    "monitoring-record-metric-samples": {"task": "monitoring.tasks.record_metric_samples", "schedule": 60.0},
    "monitoring-evaluate-alert-rules": {"task": "monitoring.tasks.evaluate_alert_rules", "schedule": 60.0},
    "monitoring-prune-metric-samples": {"task": "monitoring.tasks.prune_metric_samples", "schedule": 86400.0},
    # Two LINE calls per reading (monitoring/line_quota.py).
    "monitoring-sample-line-quota": {
        "task": "monitoring.tasks.sample_line_quota",
        "schedule": float(LINE_QUOTA_SAMPLE_SECONDS),
    },
    # The SLO compliance report of the month that ended, early on each first of the month.
    "monitoring-compliance-report": {
        "task": "monitoring.tasks.generate_compliance_report",
        "schedule": crontab(minute=30, hour=0, day_of_month=1),
    },
    # Personal data past its retention period is blanked or unlinked, once an hour; aggregates stay.
    "personal-data-retention": {"task": "conversations.tasks.apply_retention", "schedule": 3600.0},
}
# A campaign send counts as delivered on time when it finished within this many seconds of its due time.
SLO_CAMPAIGN_WINDOW_SECONDS: int = env.int("SLO_CAMPAIGN_WINDOW_SECONDS", default=3600)

# --- Rich messages ----------------------------------------------------------------------
# The fonts drawn on rich-message images, one fontconfig pattern ("Family:style") per writing system, found with
# fc-match at first use (richmessages/fonts.py); scripts/lib/fonts.sh and docker/Dockerfile install these.
RICHMESSAGES_FONT_LATIN: str = env.str("RICHMESSAGES_FONT_LATIN", default="Noto Sans:bold")
RICHMESSAGES_FONT_THAI: str = env.str("RICHMESSAGES_FONT_THAI", default="Noto Sans Thai:bold")
RICHMESSAGES_FONT_CJK: str = env.str("RICHMESSAGES_FONT_CJK", default="Noto Sans CJK JP:bold")
# When set, fonts are looked up in these directories only, instead of the system's.
RICHMESSAGES_FONT_DIRS: list[str] = env.list("RICHMESSAGES_FONT_DIRS", default=[])

# --- LLM ------------------------------------------------------------------------------
LLM_PROVIDER: str = env.str("LLM_PROVIDER", default="azure")
if LLM_PROVIDER not in ("azure", "openai"):
    from core.env import EnvProblem

    env.problems.append(EnvProblem("LLM_PROVIDER", "LLM_PROVIDER is malformed: expected azure or openai"))
AZURE_OPENAI_ENDPOINT: str | None = env.url("AZURE_OPENAI_ENDPOINT", default=None, schemes=("http", "https"))
AZURE_OPENAI_API_KEY: str | None = env.str("AZURE_OPENAI_API_KEY", default=None)
AZURE_OPENAI_API_VERSION: str = env.str("AZURE_OPENAI_API_VERSION", default="2024-10-21")
AZURE_OPENAI_DEPLOYMENT: str | None = env.str("AZURE_OPENAI_DEPLOYMENT", default=None)
OPENAI_API_KEY: str | None = env.str("OPENAI_API_KEY", default=None)
OPENAI_BASE_URL: str | None = env.url("OPENAI_BASE_URL", default=None, schemes=("http", "https"))
OPENAI_MODEL: str = env.str("OPENAI_MODEL", default="gpt-4o-mini")
# Per attempt (the SDK retries LLM_MAX_RETRIES times), and for a whole answer including tool rounds.
LLM_CONNECT_TIMEOUT: float = env.float("LLM_CONNECT_TIMEOUT", default=5.0)
LLM_READ_TIMEOUT: float = env.float("LLM_READ_TIMEOUT", default=30.0)
LLM_TOTAL_TIMEOUT: float = env.float("LLM_TOTAL_TIMEOUT", default=45.0)
LLM_MAX_RETRIES: int = env.int("LLM_MAX_RETRIES", default=2)
# A 429/503 asking to wait longer than this is not retried: the user hears back at once.
LLM_MAX_RETRY_AFTER: float = env.float("LLM_MAX_RETRY_AFTER", default=5.0)
LLM_MAX_TOOL_ROUNDS: int = env.int("LLM_MAX_TOOL_ROUNDS", default=3)
LLM_BREAKER_FAIL_MAX: int = env.int("LLM_BREAKER_FAIL_MAX", default=5)
LLM_BREAKER_RESET_TIMEOUT: float = env.float("LLM_BREAKER_RESET_TIMEOUT", default=30.0)

# --- Web search (an LLM tool; off unless a provider is set) --------------------------
WEB_SEARCH_PROVIDER: str = env.str("WEB_SEARCH_PROVIDER", default="")
if WEB_SEARCH_PROVIDER not in ("", "searxng", "fake"):
    from core.env import EnvProblem

    env.problems.append(EnvProblem("WEB_SEARCH_PROVIDER", "WEB_SEARCH_PROVIDER is malformed: expected searxng or fake"))
SEARXNG_URL: str | None = env.url("SEARXNG_URL", default=None, schemes=("http", "https"))
if WEB_SEARCH_PROVIDER == "searxng" and not SEARXNG_URL:
    from core.env import EnvProblem

    env.problems.append(EnvProblem("SEARXNG_URL", "SEARXNG_URL is required when WEB_SEARCH_PROVIDER is searxng"))
WEB_SEARCH_TIMEOUT: float = env.float("WEB_SEARCH_TIMEOUT", default=5.0)
WEB_SEARCH_RESULTS: int = env.int("WEB_SEARCH_RESULTS", default=5)
WEB_SEARCH_CACHE_TTL: float = env.float("WEB_SEARCH_CACHE_TTL", default=600.0)
WEB_SEARCH_CACHE_SIZE: int = env.int("WEB_SEARCH_CACHE_SIZE", default=512)

# --- Infrastructure knobs ---------------------------------------------------------------
REDIS_BREAKER_FAIL_MAX = env.int("REDIS_BREAKER_FAIL_MAX", default=3)
REDIS_BREAKER_RESET_TIMEOUT = env.float("REDIS_BREAKER_RESET_TIMEOUT", default=5.0)
REDIS_FALLBACK_MAX_ITEMS = env.int("REDIS_FALLBACK_MAX_ITEMS", default=10_000)
MEMORY_WARNING_PERCENT = env.float("MEMORY_WARNING_PERCENT", default=70.0)
MEMORY_CRITICAL_PERCENT = env.float("MEMORY_CRITICAL_PERCENT", default=90.0)
METRICS_TOKEN: str | None = env.str("METRICS_TOKEN", default=None)
# Where every process writes its metrics (monitoring/multiprocess.py): one directory shared by all
# processes of the deployment. Each settings module turns it on before any metric exists.
PROMETHEUS_MULTIPROC_DIR: str | None = env.str("PROMETHEUS_MULTIPROC_DIR", default=None)

# --- Live dashboards (monitoring/dashboards) --------------------------------------------
# The ticker publishes at most one message per dashboard per period; less than a second is refused.
DASHBOARD_TICK_SECONDS: float = max(1.0, env.float("DASHBOARD_TICK_SECONDS", default=1.0))
# Each server process checks the sessions of its open dashboard sockets this often, all in one query
# (logouts and role changes are pushed at once; this catches the rest, e.g. a deleted session).
DASHBOARD_RECHECK_SECONDS: float = env.float("DASHBOARD_RECHECK_SECONDS", default=10.0)
# Without a shared channel layer (no Redis) the web server runs the ticker itself.
DASHBOARD_TICKER_IN_PROCESS: bool = False

# --- Observability ----------------------------------------------------------------------
# Traces go to this OTLP/HTTP collector (e.g. http://otel-collector:4318); unset, tracing is off.
OTEL_EXPORTER_OTLP_ENDPOINT: str | None = env.url(
    "OTEL_EXPORTER_OTLP_ENDPOINT", default=None, schemes=("http", "https"), require_host=True
)
OTEL_SERVICE_NAME: str = env.str("OTEL_SERVICE_NAME", default="linebot")
# Exceptions of every process are grouped on the errors page (monitoring.error_capture).
ERROR_CAPTURE_ENABLED: bool = env.bool("ERROR_CAPTURE_ENABLED", default=True)

# --- Staff authentication -------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "admin:login"
# django-axes: 5 failures per username and client address lock that pair for 15 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# Number of reverse proxies in front of the app; 0 means REMOTE_ADDR is the client.
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "core.client_ip.resolve"
AXES_VERBOSE = False

OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="LINE bot ops console")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
BACKUP_CODE_COUNT = 10

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT_SECONDS", default=30 * 60)
SESSION_ABSOLUTE_TIMEOUT = env.int("SESSION_ABSOLUTE_TIMEOUT_SECONDS", default=12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT

# Suspicious-activity thresholds: failures within the window raise an alert.
SECURITY_ACCOUNT_FAILURE_THRESHOLD = env.int("SECURITY_ACCOUNT_FAILURE_THRESHOLD", default=10)
SECURITY_GLOBAL_FAILURE_THRESHOLD = env.int("SECURITY_GLOBAL_FAILURE_THRESHOLD", default=50)
SECURITY_FAILURE_WINDOW_SECONDS = env.int("SECURITY_FAILURE_WINDOW_SECONDS", default=300)

# --- API authentication ---------------------------------------------------------------
# Signs JWTs; deliberately not SECRET_KEY so either can be rotated alone.
JWT_SIGNING_KEY: str | None = env.str("JWT_SIGNING_KEY", default=None)
API_KEY_PEPPER: str | None = env.str("API_KEY_PEPPER", default=None)
API_KEY_ROTATION_OVERLAP = timedelta(hours=env.int("API_KEY_ROTATION_OVERLAP_HOURS", default=24))


def simple_jwt_settings(signing_key: str | None) -> dict:
    return {
        "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_TOKEN_SECONDS", default=300)),
        "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_TOKEN_SECONDS", default=24 * 3600)),
        "ROTATE_REFRESH_TOKENS": True,
        "BLACKLIST_AFTER_ROTATION": True,
        "UPDATE_LAST_LOGIN": False,
        "ALGORITHM": "HS256",
        "SIGNING_KEY": signing_key,
        "AUDIENCE": env.str("JWT_AUDIENCE", default="linebot-api"),
        "ISSUER": env.str("JWT_ISSUER", default="linebot-platform"),
        "LEEWAY": 5,
        "TOKEN_OBTAIN_SERIALIZER": "accounts.jwt.OTPTokenObtainPairSerializer",
        "TOKEN_REFRESH_SERIALIZER": "accounts.jwt.AuditedTokenRefreshSerializer",
    }


SIMPLE_JWT = simple_jwt_settings(JWT_SIGNING_KEY)

SPECTACULAR_SETTINGS = {
    "TITLE": "LINE bot platform API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Request bodies get components of their own, so what a request must carry (required, non-blank) is stated.
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation also documents the errors it can answer, in the one error shape.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.api_schema.document_errors"],
    # Swagger UI is served from our own static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Runtime configuration (core.config) ----------------------------------------------
# The values an operator may choose for the llm.model runtime setting.
LLM_ALLOWED_MODELS: list[str] = env.list(
    "LLM_ALLOWED_MODELS", default=["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1"]
)

# --- Security headers, rate limits, uploads -------------------------------------------
from csp.constants import NONE, SELF  # noqa: E402

# No inline scripts or styles anywhere; the admin's own scripts are static files.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # The one inline <style> block of drf-spectacular's Swagger UI page (drf-spectacular 0.30.0).
        "style-src": [SELF, "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

# django-ratelimit counts in the default cache (Redis whenever REDIS_URL is set).  If
# Redis is down requests pass: django-axes still locks out password guessing.
RATELIMIT_USE_CACHE = "default"
RATELIMIT_FAIL_OPEN = True
# Limits drop to a quarter while at least RATELIMIT_MIN_SAMPLE requests of a group
# in the last two minutes failed at RATELIMIT_FAILURE_RATIO or more.
RATELIMIT_FAILURE_RATIO = env.float("RATELIMIT_FAILURE_RATIO", default=0.5)
RATELIMIT_MIN_SAMPLE = env.int("RATELIMIT_MIN_SAMPLE", default=20)
RATELIMIT_TIGHTEN_FACTOR = env.int("RATELIMIT_TIGHTEN_FACTOR", default=4)

# Uploaded files larger than this are cut off while streaming, before they reach a view.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "core.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- DRF ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api_auth.ApiKeyAuthentication",
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "accounts.api_auth.VerifiedSessionAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# --- Logging --------------------------------------------------------------------------
LOG_JSON = env.bool("LOG_JSON", default=False)
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")

from core.logging import logging_config  # noqa: E402

# Every ERROR record that carries an exception also goes to the errors page.
LOG_EXTRA_HANDLERS = {"errors": {"class": "monitoring.error_capture.ErrorCaptureHandler", "level": "ERROR"}}
LOGGING = logging_config(json=LOG_JSON, level=LOG_LEVEL, extra_handlers=LOG_EXTRA_HANDLERS)
