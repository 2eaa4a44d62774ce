"""The client's address when the app sits behind a known number of reverse proxies.

Each trusted proxy appends the address it saw to ``X-Forwarded-For``; with
``N`` proxies the client is the N-th entry from the right. Anything further
left was written by the client and cannot be trusted.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _valid(candidate: str) -> str | None:
    candidate = candidate.strip()
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def resolve(request) -> str | None:
    remote = _valid(request.META.get("REMOTE_ADDR", "") or "")
    proxies = settings.AXES_IPWARE_PROXY_COUNT or 0
    if proxies <= 0:
        return remote
    chain = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(chain) < proxies:
        # Fewer hops than configured proxies: the header is not what our proxies write.
        return remote
    return _valid(chain[-proxies]) or remote
