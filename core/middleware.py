from core import correlation


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
