"""DRF authentication classes: API keys, and sessions that passed MFA."""

from __future__ import annotations

from rest_framework import authentication, exceptions

from accounts import audit
from accounts.api_keys import InvalidApiKey, api_key_authenticate
from accounts.models import AuditEvent

KEYWORD = "Api-Key"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Api-Key <prefix>.<secret>``; ``request.auth`` is the :class:`ApiKey`."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        keyword, _, value = header.partition(" ")
        if keyword != KEYWORD:
            return None
        try:
            key = api_key_authenticate(presented=value, request=request)
        except InvalidApiKey as exc:
            audit.record(
                action=AuditEvent.Action.API_KEY_REJECTED,
                target=f"api_key:{exc.prefix}" if exc.prefix else "",
                details={"reason": exc.reason, "path": request.path},
                request=request,
            )
            raise exceptions.AuthenticationFailed("Invalid API key.", code="invalid_api_key") from None
        return key.user, key

    def authenticate_header(self, request):
        return KEYWORD


class VerifiedSessionAuthentication(authentication.SessionAuthentication):
    """A browser session counts only once it passed the second factor."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user = getattr(request._request, "user", None)
        if user is None or not getattr(user, "is_verified", lambda: False)():
            return None
        return result
