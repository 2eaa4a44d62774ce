"""Prometheus metrics of every process of the deployment at ``/metrics``.

Gunicorn workers, daphne, the Celery workers and the dashboard ticker each write their own
metrics; this view merges them (``monitoring.multiprocess``), so one scrape of any web worker gives
the one consistent view.  Metrics are plain prometheus_client objects defined where they are
produced; a gauge names its ``multiprocess_mode`` (``livemax``, ``livesum``, ...) so that merging it
across processes means something.

The endpoint is open on the embedded default (DEBUG). Elsewhere it needs
``Authorization: Bearer $METRICS_TOKEN`` and is hidden (404) while no token is set,
so a deployment never exposes its internals by accident.
"""

import hmac

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from core.logging import get_logger
from monitoring import multiprocess

log = get_logger(__name__)


def _authorised(request) -> bool:
    if settings.DEBUG:
        return True
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(sent.encode(), token.encode())


@require_GET
@never_cache
def metrics(request):
    if not _authorised(request):
        return HttpResponse(status=401, headers={"WWW-Authenticate": "Bearer"})
    try:
        # Processes killed without a word (SIGKILL, OOM) are retired here at the latest.
        multiprocess.sweep()
    except OSError:
        log.warning("metrics_sweep_failed", exc_info=True)
    return HttpResponse(generate_latest(multiprocess.registry()), content_type=CONTENT_TYPE_LATEST)
