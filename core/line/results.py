"""What LINE answers, as plain values the rest of the project uses, and the errors it raises."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import LineApiError


class InvalidReplyTokenError(LineApiError):
    code = "line_invalid_reply_token"
    default_message = "LINE refused the reply token (expired or already used)."


class ContentTooLargeError(LineApiError):
    code = "line_content_too_large"
    default_message = "The message content is larger than the bot accepts."


class MonthlyLimitError(LineApiError):
    """LINE refuses to send more this month: retrying cannot help until the quota grows or the month ends."""

    code = "line_monthly_limit"
    default_message = "LINE refused the message: the channel has reached its monthly message limit."


# LINE's own wording in the 429 body that tells the monthly limit apart from a rate limit.
MONTHLY_LIMIT_TEXT = "you have reached your monthly limit"


@dataclass(frozen=True)
class SendResult:
    request_id: str
    # LINE had already accepted a request with this retry key (HTTP 409).
    duplicate: bool = False


@dataclass(frozen=True)
class RichMenuSummary:
    rich_menu_id: str
    name: str


@dataclass(frozen=True)
class Profile:
    user_id: str
    display_name: str
    picture_url: str
    status_message: str
    language: str


@dataclass(frozen=True)
class NarrowcastProgress:
    phase: str  # waiting, sending, succeeded or failed
    success_count: int | None = None
    failure_count: int | None = None
    target_count: int | None = None
    failed_description: str = ""
    error_code: int | None = None

    @property
    def is_final(self) -> bool:
        return self.phase in ("succeeded", "failed")


@dataclass(frozen=True)
class Quota:
    # None when the channel has no monthly target limit (LINE's type "none").
    limit: int | None


@dataclass(frozen=True)
class AudienceGroup:
    audience_group_id: int
    description: str
    status: str
    audience_count: int


def request_id_of(headers) -> str:
    if not headers:
        return ""
    return headers.get("X-Line-Request-Id") or headers.get("x-line-request-id") or ""


def api_error(endpoint: str, exc) -> LineApiError:
    """The LineApiError for an SDK ApiException: retryable on 429 and 5xx, the monthly limit apart."""
    status = exc.status or 0
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes | bytearray) else str(exc.body or "")
    headers = exc.headers or {}
    details = {"endpoint": endpoint, "request_id": request_id_of(headers), "body": body[:500]}
    accepted = headers.get("x-line-accepted-request-id") if hasattr(headers, "get") else None
    if accepted:
        details["accepted_request_id"] = accepted
    if status == 400 and endpoint == "reply" and "invalid reply token" in body.lower():
        return InvalidReplyTokenError(status=status, details=details)
    if status == 429 and MONTHLY_LIMIT_TEXT in body.lower():
        return MonthlyLimitError(status=status, retryable=False, details=details)
    retryable = status == 429 or status >= 500
    return LineApiError(f"LINE {endpoint} answered HTTP {status}.", status=status, retryable=retryable, details=details)
