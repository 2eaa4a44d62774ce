"""LINE's monthly message quota as series for alert rules (``line_quota_used``, ``line_quota_limit``,
``line_quota_remaining``), so that a predictive rule sees the quota running out before the month ends.

Reading the quota costs two LINE calls, so beat reads it every ``LINE_QUOTA_SAMPLE_SECONDS`` (15 minutes)
and keeps the reading in Redis; the series sampling (once a minute) copies the latest reading. A reading
older than two sampling periods gives no points: a rule then has no data rather than stale data. A
channel without a monthly limit gives ``line_quota_used`` alone.
"""

from __future__ import annotations

import orjson
from django.conf import settings
from django.utils import timezone

from core.line.client import get_line_client
from core.line.retries import with_retries
from core.logging import get_logger
from core.redis import get_redis
from monitoring.series import register_series

log = get_logger(__name__)

_KEY = "monitoring:line-quota"


def line_quota_sample() -> dict:
    """Reads LINE's quota and this month's use, and keeps the reading; raises LineApiError when LINE fails."""
    client = get_line_client()
    quota = with_retries(client.get_message_quota)
    used = with_retries(client.get_message_quota_consumption)
    reading = {"limit": quota.limit, "used": used, "at": timezone.now().isoformat()}
    get_redis().set(_KEY, orjson.dumps(reading), ttl=2 * settings.LINE_QUOTA_SAMPLE_SECONDS)
    log.info("line_quota_sampled", limit=quota.limit, used=used)
    return reading


def line_quota_series() -> dict[str, float]:
    raw = get_redis().get(_KEY)
    if not raw:
        return {}
    reading = orjson.loads(raw)
    series = {"line_quota_used": float(reading["used"])}
    if reading["limit"] is not None:
        series["line_quota_limit"] = float(reading["limit"])
        series["line_quota_remaining"] = float(reading["limit"] - reading["used"])
    return series


register_series("line_quota", line_quota_series)
