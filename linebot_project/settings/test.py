"""Settings for the test suite: real PostgreSQL and Redis at their usual local addresses."""

import atexit
import os
import shutil
import tempfile
import uuid

from monitoring.multiprocess import enable as enable_multiprocess_metrics

from .base import *  # noqa: F403
from .base import (
    CHANNEL_LAYER,
    VAR_DIR,
    cache_settings,
    channel_layer_settings,
    env,
    postgres_prepared_statements,
    simple_jwt_settings,
)

# Under pytest-xdist each test process inherits the run's directory and prefix below and takes its own.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")

# Metrics of this run (and of the servers and workers it starts, which inherit the variable) go to a
# directory of its own, removed when the run ends.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _metrics_dir = tempfile.mkdtemp(prefix=f"linebot-metrics{os.environ.get('TEST_DB_SUFFIX', '')}-")
    atexit.register(shutil.rmtree, _metrics_dir, ignore_errors=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir
# Sharing one, the test processes would count each other's requests.
if _worker and not os.environ["PROMETHEUS_MULTIPROC_DIR"].endswith(f"-{_worker}"):
    _metrics_dir = f"{os.environ['PROMETHEUS_MULTIPROC_DIR']}-{_worker}"
    os.makedirs(_metrics_dir, exist_ok=True)
    atexit.register(shutil.rmtree, _metrics_dir, ignore_errors=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir
PROMETHEUS_MULTIPROC_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"]
enable_multiprocess_metrics(PROMETHEUS_MULTIPROC_DIR)

(VAR_DIR / "static").mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it

SECRET_KEY = "test-only-secret-key-not-used-anywhere-else-0123456789"  # noqa: S105
DEBUG = False

DATABASES = {
    "default": postgres_prepared_statements(
        env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/linebot")
    )
}
# Parallel test runs (several developers on one machine) each get their own database.
DATABASES["default"]["TEST"] = {"NAME": f"test_linebot{os.environ.get('TEST_DB_SUFFIX', '')}"}

REDIS_URL = env.url("REDIS_URL", default="redis://127.0.0.1:6379/15", schemes=("redis", "rediss"))
# Each test run writes under its own prefix, shared with the processes it starts, so that it
# only ever reads or deletes its own keys.
if not os.environ.get("REDIS_KEY_PREFIX"):
    os.environ["REDIS_KEY_PREFIX"] = f"test{os.environ.get('TEST_DB_SUFFIX', '')}-{uuid.uuid4().hex[:8]}"
# Each test process takes its own, as each has its own database.
if _worker and not os.environ["REDIS_KEY_PREFIX"].endswith(f"-{_worker}"):
    os.environ["REDIS_KEY_PREFIX"] = f"{os.environ['REDIS_KEY_PREFIX']}-{_worker}"
REDIS_KEY_PREFIX = os.environ["REDIS_KEY_PREFIX"]
CACHES = cache_settings(REDIS_URL, REDIS_KEY_PREFIX)
# In-process for unit tests; servers that tests start in their own processes share Redis's.
CHANNEL_LAYERS = channel_layer_settings(
    REDIS_URL if env.bool("TEST_SHARED_CHANNEL_LAYER", default=False) else None, REDIS_KEY_PREFIX, CHANNEL_LAYER
)

# Unit tests run tasks in-process; integration tests start real workers on a real broker.
CELERY_BROKER_URL = env.url("CELERY_BROKER_URL", default="memory://", schemes=("amqp", "redis", "memory"))
# CELERY_EAGER=0 lets integration tests hand tasks to a real worker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
JWT_SIGNING_KEY = "test-only-jwt-signing-key-not-the-secret-key-0123456789"
SIMPLE_JWT = simple_jwt_settings(JWT_SIGNING_KEY)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Django's live test server would answer MEDIA_URL itself, straight from MEDIA_ROOT and without the app's
# headers; /media/ is answered by richmessages.hosting in every deployment, and tests must reach that view.
MEDIA_URL = "/unserved-test-media/"
# Counters in the shared Redis would make unrelated tests hit 429; tests of the limits turn them on.
RATELIMIT_ENABLE = False
# Unit tests capture errors only where they say so; processes the tests start may turn it on.
ERROR_CAPTURE_ENABLED = env.bool("ERROR_CAPTURE_ENABLED", default=False)
ENV_PROBLEMS = env.problems
