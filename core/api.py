"""The DRF exception handler: every API error has one JSON shape and no stack trace.

    {"error": {"code": "...", "message": "...", "correlation_id": "..."}}

Validation errors add ``details`` with the per-field messages.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.dispatch import Signal
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from core import correlation
from core.errors import AppError, RateLimitedError
from core.logging import get_logger

log = get_logger(__name__)

# Sent for every 401 and 403 the API answers, with ``context``, ``status_code`` and ``code``.
api_request_denied = Signal()


def code_of(body: dict) -> str:
    return body["error"]["code"]


def error_body(*, code: str, message: str, details=None) -> dict:
    error = {"code": code, "message": message, "correlation_id": correlation.current()}
    if details:
        error["details"] = details
    return {"error": error}


def exception_handler(exc, context):
    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, exceptions.ValidationError):
        body = error_body(code="invalid", message="The request is not valid.", details=exc.detail)
        status_code = exc.status_code
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else exc.default_code
        body = error_body(code=code, message=str(detail))
        status_code = exc.status_code
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
    elif isinstance(exc, AppError):
        body = error_body(code=exc.code, message=exc.message, details=exc.details)
        status_code = exc.status_code
        if isinstance(exc, RateLimitedError) and exc.retry_after:
            headers["Retry-After"] = str(int(exc.retry_after))
        if status_code >= 500:
            log.error("api_error", code=exc.code, error=str(exc))
    else:
        log.exception("api_unhandled_exception", view=type(context.get("view")).__name__)
        body = error_body(code="internal_error", message=AppError.default_message)
        status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    if status_code in (status.HTTP_401_UNAUTHORIZED, status.HTTP_403_FORBIDDEN):
        # The audit log (accounts) records every refused request.
        api_request_denied.send(sender=exception_handler, context=context, status_code=status_code, code=code_of(body))
    return Response(body, status=status_code, headers=headers)


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Any path under /api/ that no endpoint serves: a 404 in the API's error shape, not the site's HTML page."""
    return JsonResponse(error_body(code="not_found", message="There is no such API endpoint."), status=404)
