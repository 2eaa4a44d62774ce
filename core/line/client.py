"""The one module that talks to the LINE Platform (line-bot-sdk v3).

Messages are passed around the app as LINE's own JSON shapes (``{"type": "text", ...}``)
and only turned into SDK models here.  Failures become :class:`core.errors.LineApiError`:
``retryable`` for 429, 5xx and transport errors, ``ambiguous`` when LINE may have acted on
a request whose answer never came back.  :func:`core.line.retries.with_retries` is the one
retry policy for calls to LINE.  The SDK is imported when the first client is built
(:mod:`core.line.sdk`), never at start-up.

The rich-menu and insight calls live in :mod:`core.line.richmenus` and :mod:`core.line.insight`.
"""

from __future__ import annotations

import threading
import uuid
from typing import BinaryIO

import urllib3
from django.conf import settings
from prometheus_client import Counter

from core.errors import LineApiError
from core.lazy import ProcessWide
from core.line.insight import InsightCalls
from core.line.results import (
    MONTHLY_LIMIT_TEXT,
    AudienceGroup,
    ContentTooLargeError,
    InvalidReplyTokenError,
    MonthlyLimitError,
    NarrowcastProgress,
    Profile,
    Quota,
    RichMenuSummary,
    SendResult,
    api_error,
    request_id_of,
)
from core.line.retries import RetryRecord, with_retries
from core.line.richmenus import RICH_MENU_BULK_MAX, RichMenuCalls
from core.line.signature import signature_is_valid
from core.logging import get_logger

# What callers import from here: the client and everything it answers or raises.
__all__ = [
    "MONTHLY_LIMIT_TEXT",
    "MULTICAST_MAX_RECIPIENTS",
    "RICH_MENU_BULK_MAX",
    "AudienceGroup",
    "ContentTooLargeError",
    "InvalidReplyTokenError",
    "LineClient",
    "MonthlyLimitError",
    "NarrowcastProgress",
    "Profile",
    "Quota",
    "RetryRecord",
    "RichMenuSummary",
    "SendResult",
    "get_line_client",
    "messages_as_sent",
    "reset_line_client",
    "signature_is_valid",
    "with_retries",
]

log = get_logger(__name__)

LINE_CALLS = Counter("line_api_calls_total", "Calls to the LINE Messaging API", ["endpoint", "outcome"])

MULTICAST_MAX_RECIPIENTS = 500


# Any well-formed user id: the SDK's request models need a recipient to carry messages.
_ANY_RECIPIENT = "U" + "0" * 32


def messages_as_sent(messages: list[dict]) -> list[dict]:
    """``messages`` exactly as this client puts them on the wire.

    They travel through line-bot-sdk's models, which fill in some defaults (an image component's
    ``"animated": false``) and drop what they do not carry (a Flex bubble's ``size`` inside a message);
    a message stored in this form is the very object LINE receives. Raises ValueError for an object the
    SDK cannot read at all.
    """
    request = _sdk().PushMessageRequest.from_dict({"to": _ANY_RECIPIENT, "messages": messages})
    return [message.to_dict() for message in request.messages]


def _sdk():
    from core.line import sdk

    return sdk


class LineClient(RichMenuCalls, InsightCalls):
    def __init__(self, *, api_base_url: str, data_api_base_url: str, access_token: str, timeout: float):
        sdk = _sdk()
        self.timeout = (min(timeout, 5.0), timeout)
        self._api_base_url = api_base_url
        self._access_token = access_token
        self._api_client = sdk.ApiClient(self._configuration(api_base_url, access_token))
        self._data_client = sdk.ApiClient(self._configuration(data_api_base_url, access_token))
        audience_configuration = sdk.AudienceConfiguration(host=api_base_url.rstrip("/"), access_token=access_token)
        audience_configuration.retries = 0
        self._audience_client = sdk.AudienceApiClient(audience_configuration)
        self.api = sdk.MessagingApi(self._api_client)
        self.blob = sdk.MessagingApiBlob(self._data_client)
        self.audience = sdk.ManageAudience(self._audience_client)
        # The insight SDK is imported on first use only: most processes never need it, all of them start faster.
        self._insight_lock = threading.Lock()
        self._insight_client = None
        self._insight = None
        self._api_errors: tuple[type[Exception], ...] = (sdk.ApiException, sdk.AudienceApiException)

    @staticmethod
    def _configuration(host: str, access_token: str):
        configuration = _sdk().Configuration(host=host.rstrip("/"), access_token=access_token)
        # Retrying is the caller's decision (a POST may have been acted on), never urllib3's.
        configuration.retries = 0
        return configuration

    def close(self) -> None:
        self._api_client.close()
        self._data_client.close()
        self._audience_client.close()
        if self._insight_client is not None:
            self._insight_client.close()

    # --- sending ----------------------------------------------------------------------------
    def reply(self, reply_token: str, messages: list[dict]) -> SendResult:
        request = _sdk().ReplyMessageRequest.from_dict({"replyToken": reply_token, "messages": messages})
        response = self._call("reply", self.api.reply_message_with_http_info, request)
        return SendResult(request_id=request_id_of(response.headers))

    def push(self, to: str, messages: list[dict], *, retry_key: uuid.UUID) -> SendResult:
        request = _sdk().PushMessageRequest.from_dict({"to": to, "messages": messages})
        return self._send_once("push", self.api.push_message_with_http_info, request, retry_key)

    def multicast(self, to: list[str], messages: list[dict], *, retry_key: uuid.UUID) -> SendResult:
        """Sends to at most 500 users at once; the retry key makes a repeat of an accepted call a no-op."""
        if not 1 <= len(to) <= MULTICAST_MAX_RECIPIENTS:
            raise ValueError(f"a multicast goes to 1 to {MULTICAST_MAX_RECIPIENTS} users, not {len(to)}")
        sdk = _sdk()
        # Only the messages go through the SDK's validation: pydantic checking up to 500 user ids one by one
        # cost half of the call's CPU (docs/PERFORMANCE.md, Campaigns); they are checked above, and are ours.
        request = sdk.MulticastRequest.construct(
            to=[str(user) for user in to],
            messages=[sdk.Message.from_dict(message) for message in messages],
            notification_disabled=False,
        )
        return self._send_once("multicast", self.api.multicast_with_http_info, request, retry_key)

    def broadcast(self, messages: list[dict], *, retry_key: uuid.UUID) -> SendResult:
        request = _sdk().BroadcastRequest.from_dict({"messages": messages})
        return self._send_once("broadcast", self.api.broadcast_with_http_info, request, retry_key)

    def narrowcast(
        self,
        messages: list[dict],
        *,
        retry_key: uuid.UUID,
        recipient: dict | None = None,
        demographic: dict | None = None,
        limit: int | None = None,
    ) -> SendResult:
        """Accepted asynchronously: follow it with :meth:`narrowcast_progress` and the returned request id."""
        body: dict = {"messages": messages}
        if recipient:
            body["recipient"] = recipient
        if demographic:
            body["filter"] = {"demographic": demographic}
        if limit:
            body["limit"] = {"max": limit}
        request = _sdk().NarrowcastRequest.from_dict(body)
        return self._send_once("narrowcast", self.api.narrowcast_with_http_info, request, retry_key)

    def _send_once(self, endpoint: str, method, request, retry_key: uuid.UUID) -> SendResult:
        try:
            response = self._call(endpoint, method, request, x_line_retry_key=str(retry_key))
        except LineApiError as exc:
            if exc.status == 409 and (exc.details or {}).get("accepted_request_id"):
                # The same retry key was accepted before: the message went out once, as intended.
                return SendResult(request_id=exc.details["accepted_request_id"], duplicate=True)
            raise
        return SendResult(request_id=request_id_of(response.headers))

    def validate_push_messages(self, messages: list[dict]) -> None:
        """Asks LINE whether ``messages`` would be accepted by a push; nothing is sent to anyone.

        Returns when LINE accepts them. A refusal raises LineApiError with status 400 whose
        ``details["body"]`` is LINE's answer (``{"message": ..., "details": [{"message", "property"}]}``).
        """
        request = _sdk().ValidateMessageRequest.from_dict({"messages": messages})
        self._call("validate_push", self.api.validate_push_with_http_info, request)

    def show_loading(self, chat_id: str, *, seconds: int = 20) -> None:
        request = _sdk().ShowLoadingAnimationRequest(chatId=chat_id, loadingSeconds=seconds)
        self._call("loading", self.api.show_loading_animation_with_http_info, request)

    # --- reading ----------------------------------------------------------------------------
    def narrowcast_progress(self, request_id: str) -> NarrowcastProgress:
        data = self._call("narrowcast_progress", self.api.get_narrowcast_progress_with_http_info, request_id).data
        return NarrowcastProgress(
            phase=_text(data.phase),
            success_count=data.success_count,
            failure_count=data.failure_count,
            target_count=data.target_count,
            failed_description=data.failed_description or "",
            error_code=data.error_code,
        )

    def get_message_quota(self) -> Quota:
        data = self._call("quota", self.api.get_message_quota_with_http_info).data
        return Quota(limit=int(data.value) if _text(data.type) == "limited" and data.value is not None else None)

    def get_message_quota_consumption(self) -> int:
        """Messages sent this month that count against the quota."""
        return int(
            self._call("quota_consumption", self.api.get_message_quota_consumption_with_http_info).data.total_usage
        )

    def audience_group(self, audience_group_id: int) -> AudienceGroup:
        data = self._call("audience_group", self.audience.get_audience_data_with_http_info, audience_group_id).data
        group = data.audience_group
        return AudienceGroup(
            audience_group_id=int(group.audience_group_id),
            description=group.description or "",
            status=_text(group.status),
            audience_count=int(group.audience_count or 0),
        )

    def create_audience_group(self, description: str, user_ids: list[str]) -> int:
        """An audience of up to 10,000 user ids (LINE's limit per request); returns its id."""
        request = _sdk().CreateAudienceGroupRequest.from_dict(
            {"description": description, "audiences": [{"id": user_id} for user_id in user_ids]}
        )
        return int(
            self._call(
                "audience_create", self.audience.create_audience_group_with_http_info, request
            ).data.audience_group_id
        )

    def get_profile(self, user_id: str) -> Profile:
        profile = self._call("profile", self.api.get_profile_with_http_info, user_id).data
        return Profile(
            user_id=profile.user_id,
            display_name=profile.display_name or "",
            picture_url=profile.picture_url or "",
            status_message=profile.status_message or "",
            language=profile.language or "",
        )

    def download_content(self, message_id: str, destination: BinaryIO, *, max_bytes: int) -> int:
        """Writes a message's content (image, file) into ``destination``; returns its size.

        The SDK reads the whole body into memory, so callers check the size LINE announced
        in the event (``fileSize``) before downloading.
        """
        response = self._call("content", self.blob.get_message_content_with_http_info, message_id)
        data = response.raw_data or b""
        if len(data) > max_bytes:
            raise ContentTooLargeError(details={"size": len(data), "limit": max_bytes})
        destination.write(data)
        return len(data)

    # --- plumbing ---------------------------------------------------------------------------
    def _call(self, endpoint: str, method, *args, **kwargs):
        # The SDK checks each call's arguments with pydantic v1's validate_arguments, three model validations per
        # call; this client passes only values it built as the SDK's own types, so it calls the method undecorated,
        # as pydantic documents ``raw_function`` for. The request models themselves are still validated.
        raw = getattr(method, "raw_function", None)
        try:
            if raw is not None:
                response = raw(method.__self__, *args, _request_timeout=self.timeout, **kwargs)
            else:
                response = method(*args, _request_timeout=self.timeout, **kwargs)
        except self._api_errors as exc:
            LINE_CALLS.labels(endpoint=endpoint, outcome=str(exc.status)).inc()
            raise api_error(endpoint, exc) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            LINE_CALLS.labels(endpoint=endpoint, outcome="transport_error").inc()
            # The request may have reached LINE before the connection broke.
            raise LineApiError(
                f"LINE {endpoint} failed: {type(exc).__name__}",
                retryable=True,
                details={"endpoint": endpoint, "ambiguous": True},
            ) from exc
        LINE_CALLS.labels(endpoint=endpoint, outcome="ok").inc()
        return response


def _text(value) -> str:
    """The plain value of an SDK enum member (or of a plain string)."""
    if value is None:
        return ""
    return str(getattr(value, "value", value))


# --- the process-wide client ------------------------------------------------------------------
def build_line_client() -> LineClient:
    return LineClient(
        api_base_url=settings.LINE_API_BASE_URL,
        data_api_base_url=settings.LINE_DATA_API_BASE_URL,
        access_token=settings.LINE_CHANNEL_ACCESS_TOKEN or "",
        timeout=settings.LINE_API_TIMEOUT,
    )


_client: ProcessWide[LineClient] = ProcessWide(
    build_line_client, close=lambda client: client.close(), settings_prefixes=("LINE_",)
)


def get_line_client() -> LineClient:
    return _client.get()


def reset_line_client() -> None:
    _client.reset()
