from django.http import HttpResponseBadRequest, JsonResponse

from core import correlation
from core.api import error_body


class CorrelationIdMiddleware:
    """Takes ``X-Request-ID`` from the client or makes one, binds it for logging, echoes it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        correlation_id = correlation.accept_or_new(request.headers.get(correlation.HEADER))
        request.correlation_id = correlation_id
        correlation.bind(correlation_id)
        try:
            response = self.get_response(request)
        finally:
            correlation.clear()
        response[correlation.HEADER] = correlation_id
        return response


class NulInQueryMiddleware:
    """Refuses a query string holding U+0000 with 400, for every path.

    PostgreSQL text cannot hold that character: a filter built from such a parameter failed in the
    database with a 500. The API answers in its error shape; other pages with a plain 400.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            message = "A query parameter holds a NUL character (U+0000)."
            if request.path.startswith("/api/"):
                return JsonResponse(error_body(code="invalid", message=message), status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
