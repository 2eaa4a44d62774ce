"""Checking ``X-Line-Signature``: the base64 HMAC-SHA256 of the raw body under the channel secret.

Plain ``hmac``, so the webhook's hot path never loads the LINE SDK.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from django.conf import settings


def signature_is_valid(body: bytes, signature: str | None) -> bool:
    secret = settings.LINE_CHANNEL_SECRET
    if not secret or not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest())
    try:
        given = signature.encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected, given)
