"""Rate limits for the admin login, the token endpoints and the API.

django-ratelimit counts requests in the default cache (Redis).  The base rates
are runtime settings (``ratelimit.login_attempts_per_minute`` and
``ratelimit.api_requests_per_minute``), and :func:`adaptive_rate` cuts them to
a ``RATELIMIT_TIGHTEN_FACTOR``-th while a group's recent failure ratio is high
(credential stuffing across many addresses shows up there even when each
address stays under its own limit).  Attempts and failures are counted per
group and minute in Redis through :func:`core.redis.get_redis`.

A limited request gets 429 with ``Retry-After``; API paths answer in the
project's error shape.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import TTLCache
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django_ratelimit.core import get_usage

from core import config
from core.api import error_body
from core.client_ip import resolve as client_ip_resolve
from core.errors import RateLimitedError
from core.logging import get_logger
from core.redis import get_redis

log = get_logger(__name__)

LOGIN_PATH = "/admin/login/"
TOKEN_PATH = "/api/v1/auth/token/"  # noqa: S105 - a URL path
TOKEN_REFRESH_PATH = "/api/v1/auth/token/refresh/"  # noqa: S105 - a URL path
API_PREFIX = "/api/v1/"

GROUP_LOGIN_IP = "login-ip"
GROUP_LOGIN_USER = "login-user"
GROUP_API = "api"

_RATE_SETTING = {
    GROUP_LOGIN_IP: "ratelimit.login_attempts_per_minute",
    GROUP_LOGIN_USER: "ratelimit.login_attempts_per_minute",
    GROUP_API: "ratelimit.api_requests_per_minute",
}
_STATS_WINDOW = 60
# Tightening decisions are reused for a second so a busy API does not ask Redis on every request.
_tightened_cache: TTLCache = TTLCache(maxsize=64, ttl=1.0)


# --- failure ratio ---------------------------------------------------------------------
def _stats_key(group: str, kind: str, window: int) -> str:
    return f"ratelimit:stats:{group}:{window}:{kind}"


def record_outcome(group: str, *, failed: bool) -> None:
    redis = get_redis()
    window = int(time.time()) // _STATS_WINDOW
    ttl = _STATS_WINDOW * 3
    redis.incr(_stats_key(group, "attempts", window), ttl=ttl)
    if failed:
        redis.incr(_stats_key(group, "failures", window), ttl=ttl)


def failure_ratio(group: str) -> tuple[float, int]:
    """Failures / attempts over the current and the previous minute, and the number of attempts."""
    redis = get_redis()
    window = int(time.time()) // _STATS_WINDOW
    attempts = failures = 0
    for w in (window, window - 1):
        attempts += int(redis.get(_stats_key(group, "attempts", w)) or 0)
        failures += int(redis.get(_stats_key(group, "failures", w)) or 0)
    return (failures / attempts if attempts else 0.0), attempts


def is_tightened(group: str) -> bool:
    if group in _tightened_cache:
        return _tightened_cache[group]
    ratio, attempts = failure_ratio(group)
    tightened = attempts >= settings.RATELIMIT_MIN_SAMPLE and ratio >= settings.RATELIMIT_FAILURE_RATIO
    if tightened:
        log.warning("ratelimit_tightened", group=group, failure_ratio=round(ratio, 2), attempts=attempts)
    _tightened_cache[group] = tightened
    return tightened


def adaptive_rate(group: str, request: HttpRequest | None = None) -> str:
    """The django-ratelimit rate for ``group``: its runtime setting, lowered while failures spike."""
    per_minute = int(config.get(_RATE_SETTING[group]))
    if is_tightened(group):
        per_minute = max(1, per_minute // max(1, settings.RATELIMIT_TIGHTEN_FACTOR))
    return f"{per_minute}/m"


def reset_tightening_cache() -> None:
    _tightened_cache.clear()


# --- keys ------------------------------------------------------------------------------
def client_ip(request: HttpRequest) -> str:
    return client_ip_resolve(request) or "unknown"


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def key_by_ip(group: str, request: HttpRequest) -> str:
    return client_ip(request)


def submitted_username(request: HttpRequest) -> str:
    """The username a login or token request names (form or JSON body), lower-cased."""
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return ""
        username = body.get("username", "") if isinstance(body, dict) else ""
    else:
        username = request.POST.get("username", "")
    return username.strip().lower()[:150] if isinstance(username, str) else ""


def key_by_username(group: str, request: HttpRequest) -> str:
    return _hash(submitted_username(request))


def key_by_credential(group: str, request: HttpRequest) -> str:
    """Per API key (its public prefix), per bearer token, per signed-in user, else per address."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    keyword, _, value = header.partition(" ")
    value = value.strip()
    if keyword == "Api-Key" and value:
        # The prefix names the key, so guessing secrets for one key shares one bucket.
        return "key:" + _hash(value.split(".", 1)[0])
    if keyword == "Bearer" and value:
        return "jwt:" + _hash(value)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return "ip:" + client_ip(request)


# --- rules -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    group: str
    key: Callable[[str, HttpRequest], str]
    applies: Callable[[HttpRequest], bool]
    failed: Callable[[HttpRequest, HttpResponse], bool]


def _is_login(request: HttpRequest) -> bool:
    return request.method == "POST" and request.path in (LOGIN_PATH, TOKEN_PATH, TOKEN_REFRESH_PATH)


def _names_user(request: HttpRequest) -> bool:
    return request.method == "POST" and request.path in (LOGIN_PATH, TOKEN_PATH) and bool(submitted_username(request))


def _login_failed(request: HttpRequest, response: HttpResponse) -> bool:
    if request.path == LOGIN_PATH:
        # The admin answers a failed login with the form again (200) and a success with a redirect.
        return response.status_code != 302
    return response.status_code != 200


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def _api_failed(request: HttpRequest, response: HttpResponse) -> bool:
    return response.status_code in (401, 403)


RULES = (
    Rule(GROUP_LOGIN_IP, key_by_ip, _is_login, _login_failed),
    Rule(GROUP_LOGIN_USER, key_by_username, _names_user, _login_failed),
    Rule(GROUP_API, key_by_credential, _is_api, _api_failed),
)


def limited_rule(request: HttpRequest) -> tuple[Rule, int] | None:
    """Counts the request against every rule that applies; the first exceeded rule and its seconds left."""
    exceeded = None
    for rule in RULES:
        if not rule.applies(request):
            continue
        usage = get_usage(request, group=rule.group, key=rule.key, rate=adaptive_rate, increment=True)
        if usage and usage["should_limit"] and exceeded is None:
            exceeded = (rule, max(1, int(usage["time_left"])))
    return exceeded


def too_many_requests(request: HttpRequest, *, retry_after: int) -> HttpResponse:
    if _is_api(request):
        body = error_body(code=RateLimitedError.code, message=RateLimitedError.default_message)
        response = JsonResponse(body, status=429)
    else:
        response = HttpResponse(
            render_to_string("accounts/ratelimited.html", {"retry_after": retry_after}, request=request), status=429
        )
    response["Retry-After"] = str(retry_after)
    return response


class RateLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not getattr(settings, "RATELIMIT_ENABLE", True) or not (_is_login(request) or _is_api(request)):
            return self.get_response(request)
        exceeded = limited_rule(request)
        if exceeded is not None:
            rule, retry_after = exceeded
            log.warning("rate_limited", group=rule.group, path=request.path)
            return too_many_requests(request, retry_after=retry_after)
        response = self.get_response(request)
        for rule in RULES:
            if rule.applies(request):
                record_outcome(rule.group, failed=rule.failed(request, response))
        return response
