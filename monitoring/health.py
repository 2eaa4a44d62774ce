"""Liveness and readiness.

``/healthz`` does no I/O: it only proves the process answers.
``/readyz`` checks the database, Redis and the broker.  Without Redis we fall
back to memory, so the answer is 200 "degraded"; without the database or the
broker no work can be taken in, so the answer is 503.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.redis import get_redis
from linebot_project.celery import app as celery_app


@require_GET
@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means not ready
        return False


def _redis_state() -> str:
    if not settings.REDIS_URL:
        return "not-configured"
    return "ok" if get_redis().ping() else "down"


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # noqa: BLE001 - any failure means not ready
        return False


@require_GET
@never_cache
def readyz(request):
    checks = {
        "database": "ok" if _database_ok() else "down",
        "redis": _redis_state(),
        "broker": "ok" if _broker_ok() else "down",
    }
    if checks["database"] == "down" or checks["broker"] == "down":
        status, code = "unavailable", 503
    elif checks["redis"] == "down":
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return JsonResponse({"status": status, "checks": checks}, status=code)
