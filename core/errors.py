"""One exception hierarchy for the whole project.

Each error knows its stable machine-readable ``code`` and the HTTP status an
API answers with; the message is safe to show to a client.
"""


class AppError(Exception):
    code = "internal_error"
    status_code = 500
    default_message = "Something went wrong on our side."

    def __init__(self, message: str | None = None, *, details: dict | None = None):
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class ConfigurationError(AppError):
    code = "configuration_error"
    default_message = "The service is not configured correctly."


class ValidationError(AppError):
    code = "invalid"
    status_code = 400
    default_message = "The request is not valid."


class PermissionDeniedError(AppError):
    code = "permission_denied"
    status_code = 403
    default_message = "You may not do this."


class NotFoundError(AppError):
    code = "not_found"
    status_code = 404
    default_message = "Not found."


class ConflictError(AppError):
    code = "conflict"
    status_code = 409
    default_message = "The request conflicts with the current state."


class RateLimitedError(AppError):
    code = "rate_limited"
    status_code = 429
    default_message = "Too many requests; slow down and try again shortly."

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, details: dict | None = None):
        super().__init__(message, details=details)
        self.retry_after = retry_after


class ExternalServiceError(AppError):
    """An outside system failed or refused us."""

    code = "upstream_error"
    status_code = 502
    default_message = "An upstream service failed."

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        retryable: bool = False,
        details: dict | None = None,
    ):
        super().__init__(message, details=details)
        self.status = status
        self.retryable = retryable


class LineApiError(ExternalServiceError):
    code = "line_api_error"
    default_message = "The LINE Platform refused or failed the request."


class LLMError(ExternalServiceError):
    code = "llm_error"
    default_message = "The language model failed to answer."


class SearchError(ExternalServiceError):
    code = "search_error"
    default_message = "The web search failed."


class CacheUnavailableError(ExternalServiceError):
    code = "cache_unavailable"
    status_code = 503
    default_message = "The cache is unavailable."
