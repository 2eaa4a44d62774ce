"""Prometheus metrics of this process at ``/metrics``.

The endpoint is open on the embedded default (DEBUG). Elsewhere it needs
``Authorization: Bearer $METRICS_TOKEN`` and is hidden (404) while no token is set,
so a deployment never exposes its internals by accident.
"""

import hmac

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest


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
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
