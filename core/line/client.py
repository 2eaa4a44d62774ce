"""The one module that talks to the LINE Platform (line-bot-sdk v3).

Messages are passed around the app as LINE's own JSON shapes (``{"type": "text", ...}``)
and only turned into SDK models here.  Failures become :class:`core.errors.LineApiError`:
``retryable`` for 429, 5xx and transport errors, ``ambiguous`` when LINE may have acted on
a request whose answer never came back.  :func:`with_retries` is the one retry policy for
calls to LINE.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, BinaryIO, TypeVar

import urllib3
from django.conf import settings
from linebot.v3.audience import ApiClient as AudienceApiClient
from linebot.v3.audience import ApiException as AudienceApiException
from linebot.v3.audience import Configuration as AudienceConfiguration
from linebot.v3.audience import CreateAudienceGroupRequest, ManageAudience
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    BroadcastRequest,
    Configuration,
    CreateRichMenuAliasRequest,
    MessagingApi,
    MessagingApiBlob,
    MulticastRequest,
    NarrowcastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuBulkLinkRequest,
    RichMenuBulkUnlinkRequest,
    RichMenuRequest,
    ShowLoadingAnimationRequest,
    UpdateRichMenuAliasRequest,
    ValidateMessageRequest,
)
from linebot.v3.webhook import SignatureValidator
from prometheus_client import Counter
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

from core.errors import LineApiError
from core.lazy import ProcessWide
from core.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")

LINE_CALLS = Counter("line_api_calls_total", "Calls to the LINE Messaging API", ["endpoint", "outcome"])


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
MULTICAST_MAX_RECIPIENTS = 500


@dataclass(frozen=True)
class SendResult:
    request_id: str
    # LINE had already accepted a request with this retry key (HTTP 409).
    duplicate: bool = False


# LINE links or unlinks at most this many users per bulk call.
RICH_MENU_BULK_MAX = 500


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


# Any well-formed user id: the SDK's request models need a recipient to carry messages.
_ANY_RECIPIENT = "U" + "0" * 32


def messages_as_sent(messages: list[dict]) -> list[dict]:
    """``messages`` exactly as this client puts them on the wire.

    They travel through line-bot-sdk's models, which fill in some defaults (an image component's
    ``"animated": false``) and drop what they do not carry (a Flex bubble's ``size`` inside a message);
    a message stored in this form is the very object LINE receives. Raises ValueError for an object the
    SDK cannot read at all.
    """
    request = PushMessageRequest.from_dict({"to": _ANY_RECIPIENT, "messages": messages})
    return [message.to_dict() for message in request.messages]


def signature_is_valid(body: bytes, signature: str | None) -> bool:
    """``X-Line-Signature`` is the base64 HMAC-SHA256 of the raw body under the channel secret."""
    secret = settings.LINE_CHANNEL_SECRET
    if not secret or not signature:
        return False
    try:
        return SignatureValidator(secret).validate(body.decode("utf-8"), signature)
    except (UnicodeDecodeError, ValueError):
        return False


class LineClient:
    def __init__(self, *, api_base_url: str, data_api_base_url: str, access_token: str, timeout: float):
        self.timeout = (min(timeout, 5.0), timeout)
        self._api_base_url = api_base_url
        self._access_token = access_token
        self._api_client = ApiClient(self._configuration(api_base_url, access_token))
        self._data_client = ApiClient(self._configuration(data_api_base_url, access_token))
        audience_configuration = AudienceConfiguration(host=api_base_url.rstrip("/"), access_token=access_token)
        audience_configuration.retries = 0
        self._audience_client = AudienceApiClient(audience_configuration)
        self.api = MessagingApi(self._api_client)
        self.blob = MessagingApiBlob(self._data_client)
        self.audience = ManageAudience(self._audience_client)
        # The insight SDK is imported on first use only: most processes never need it, all of them start faster.
        self._insight_lock = threading.Lock()
        self._insight_client = None
        self._insight = None
        self._api_errors: tuple[type[Exception], ...] = (ApiException, AudienceApiException)

    @staticmethod
    def _configuration(host: str, access_token: str) -> Configuration:
        configuration = Configuration(host=host.rstrip("/"), access_token=access_token)
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
        request = ReplyMessageRequest.from_dict({"replyToken": reply_token, "messages": messages})
        response = self._call("reply", self.api.reply_message_with_http_info, request)
        return SendResult(request_id=_request_id(response.headers))

    def push(self, to: str, messages: list[dict], *, retry_key: uuid.UUID) -> SendResult:
        request = PushMessageRequest.from_dict({"to": to, "messages": messages})
        return self._send_once("push", self.api.push_message_with_http_info, request, retry_key)

    def multicast(self, to: list[str], messages: list[dict], *, retry_key: uuid.UUID) -> SendResult:
        """Sends to at most 500 users at once; the retry key makes a repeat of an accepted call a no-op."""
        if not 1 <= len(to) <= MULTICAST_MAX_RECIPIENTS:
            raise ValueError(f"a multicast goes to 1 to {MULTICAST_MAX_RECIPIENTS} users, not {len(to)}")
        request = MulticastRequest.from_dict({"to": list(to), "messages": messages})
        return self._send_once("multicast", self.api.multicast_with_http_info, request, retry_key)

    def broadcast(self, messages: list[dict], *, retry_key: uuid.UUID) -> SendResult:
        request = BroadcastRequest.from_dict({"messages": messages})
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
        request = NarrowcastRequest.from_dict(body)
        return self._send_once("narrowcast", self.api.narrowcast_with_http_info, request, retry_key)

    def _send_once(self, endpoint: str, method, request, retry_key: uuid.UUID) -> SendResult:
        try:
            response = self._call(endpoint, method, request, x_line_retry_key=str(retry_key))
        except LineApiError as exc:
            if exc.status == 409 and (exc.details or {}).get("accepted_request_id"):
                # The same retry key was accepted before: the message went out once, as intended.
                return SendResult(request_id=exc.details["accepted_request_id"], duplicate=True)
            raise
        return SendResult(request_id=_request_id(response.headers))

    def validate_push_messages(self, messages: list[dict]) -> None:
        """Asks LINE whether ``messages`` would be accepted by a push; nothing is sent to anyone.

        Returns when LINE accepts them. A refusal raises LineApiError with status 400 whose
        ``details["body"]`` is LINE's answer (``{"message": ..., "details": [{"message", "property"}]}``).
        """
        request = ValidateMessageRequest.from_dict({"messages": messages})
        self._call("validate_push", self.api.validate_push_with_http_info, request)

    def show_loading(self, chat_id: str, *, seconds: int = 20) -> None:
        request = ShowLoadingAnimationRequest(chatId=chat_id, loadingSeconds=seconds)
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
        request = CreateAudienceGroupRequest.from_dict(
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

    # --- rich menus -------------------------------------------------------------------------
    # A rich menu is passed in as LINE's own JSON object ({"size": ..., "areas": [...]}).
    def validate_rich_menu(self, rich_menu: dict) -> None:
        self._call("richmenu_validate", self.api.validate_rich_menu_object_with_http_info, _rich_menu(rich_menu))

    def create_rich_menu(self, rich_menu: dict) -> str:
        response = self._call("richmenu_create", self.api.create_rich_menu_with_http_info, _rich_menu(rich_menu))
        return response.data.rich_menu_id

    def list_rich_menus(self) -> list[RichMenuSummary]:
        response = self._call("richmenu_list", self.api.get_rich_menu_list_with_http_info)
        return [
            RichMenuSummary(rich_menu_id=menu.rich_menu_id, name=menu.name or "")
            for menu in response.data.richmenus or []
        ]

    def delete_rich_menu(self, rich_menu_id: str) -> None:
        self._call("richmenu_delete", self.api.delete_rich_menu_with_http_info, rich_menu_id)

    def set_rich_menu_image(self, rich_menu_id: str, data: bytes, *, content_type: str) -> None:
        # The image goes to the data API host (api-data.line.me), like every upload.
        self._call(
            "richmenu_image",
            self.blob.set_rich_menu_image_with_http_info,
            rich_menu_id,
            data,
            _headers={"Content-Type": content_type},
        )

    def rich_menu_has_image(self, rich_menu_id: str) -> bool:
        try:
            self._call("richmenu_image_get", self.blob.get_rich_menu_image_with_http_info, rich_menu_id)
        except LineApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def set_default_rich_menu(self, rich_menu_id: str) -> None:
        self._call("richmenu_default", self.api.set_default_rich_menu_with_http_info, rich_menu_id)

    def default_rich_menu_id(self) -> str | None:
        try:
            response = self._call("richmenu_default_get", self.api.get_default_rich_menu_id_with_http_info)
        except LineApiError as exc:
            if exc.status == 404:
                return None
            raise
        return response.data.rich_menu_id

    def cancel_default_rich_menu(self) -> None:
        self._call("richmenu_default_cancel", self.api.cancel_default_rich_menu_with_http_info)

    def link_rich_menu_to_user(self, user_id: str, rich_menu_id: str) -> None:
        self._call("richmenu_link", self.api.link_rich_menu_id_to_user_with_http_info, user_id, rich_menu_id)

    def link_rich_menu_to_users(self, user_ids: list[str], rich_menu_id: str) -> None:
        """Links up to :data:`RICH_MENU_BULK_MAX` users in one call (LINE applies it asynchronously)."""
        _check_bulk(user_ids)
        request = RichMenuBulkLinkRequest(richMenuId=rich_menu_id, userIds=list(user_ids))
        self._call("richmenu_bulk_link", self.api.link_rich_menu_id_to_users_with_http_info, request)

    def unlink_rich_menu_from_user(self, user_id: str) -> None:
        self._call("richmenu_unlink", self.api.unlink_rich_menu_id_from_user_with_http_info, user_id)

    def unlink_rich_menu_from_users(self, user_ids: list[str]) -> None:
        _check_bulk(user_ids)
        request = RichMenuBulkUnlinkRequest(userIds=list(user_ids))
        self._call("richmenu_bulk_unlink", self.api.unlink_rich_menu_id_from_users_with_http_info, request)

    def create_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        request = CreateRichMenuAliasRequest(richMenuAliasId=alias_id, richMenuId=rich_menu_id)
        self._call("richmenu_alias_create", self.api.create_rich_menu_alias_with_http_info, request)

    def update_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        request = UpdateRichMenuAliasRequest(richMenuId=rich_menu_id)
        self._call("richmenu_alias_update", self.api.update_rich_menu_alias_with_http_info, alias_id, request)

    def delete_rich_menu_alias(self, alias_id: str) -> None:
        self._call("richmenu_alias_delete", self.api.delete_rich_menu_alias_with_http_info, alias_id)

    # --- insight ----------------------------------------------------------------------------
    # Figures come back as LINE's JSON (camelCase keys); a figure LINE withholds (fewer than 20 users) is None.
    # LINE allows 60 insight requests an hour: callers take each one from core.line.budget.insight_budget().
    def get_number_of_followers(self, day: date) -> dict[str, Any]:
        """``{"status": "ready" | "unready" | "out_of_service", "followers", "targetedReaches", "blocks"}``."""
        return self._insight_call("insight_followers", "get_number_of_followers_with_http_info", _line_date(day))

    def get_number_of_message_deliveries(self, day: date) -> dict[str, Any]:
        """``{"status", "broadcast", "targeting", …, "apiReply"}``: messages sent on a day (UTC+9)."""
        return self._insight_call(
            "insight_deliveries", "get_number_of_message_deliveries_with_http_info", _line_date(day)
        )

    def get_friends_demographics(self) -> dict[str, Any]:
        """``{"available", "genders", "ages", "areas", "appTypes", "subscriptionPeriods"}`` (percentages)."""
        return self._insight_call("insight_demographics", "get_friends_demographics_with_http_info")

    def get_message_event(self, request_id: str) -> dict[str, Any]:
        """``{"overview", "messages", "clicks"}`` of a broadcast or narrowcast, by its request id."""
        return self._insight_call("insight_message_event", "get_message_event_with_http_info", request_id)

    def get_statistics_per_unit(self, unit: str, date_from: date, date_to: date) -> dict[str, Any]:
        """``{"overview", "messages", "clicks"}`` of pushes and multicasts sent with ``customAggregationUnits``
        between two days (UTC+9), at most 30 days apart."""
        return self._insight_call(
            "insight_unit",
            "get_statistics_per_unit_with_http_info",
            unit,
            _line_date(date_from),
            _line_date(date_to),
        )

    def _insight_call(self, endpoint: str, method_name: str, *args) -> dict[str, Any]:
        response = self._call(endpoint, getattr(self._insight_api(), method_name), *args)
        return response.data.to_dict() if response.data is not None else {}

    def _insight_api(self):
        with self._insight_lock:
            if self._insight is None:
                from linebot.v3.insight import ApiClient as InsightApiClient
                from linebot.v3.insight import ApiException as InsightApiException
                from linebot.v3.insight import Configuration as InsightConfiguration
                from linebot.v3.insight import Insight

                configuration = InsightConfiguration(
                    host=self._api_base_url.rstrip("/"), access_token=self._access_token
                )
                configuration.retries = 0
                self._insight_client = InsightApiClient(configuration)
                self._api_errors = (*self._api_errors, InsightApiException)
                self._insight = Insight(self._insight_client)
            return self._insight

    # --- plumbing ---------------------------------------------------------------------------
    def _call(self, endpoint: str, method, *args, **kwargs):
        try:
            response = method(*args, _request_timeout=self.timeout, **kwargs)
        except self._api_errors as exc:
            LINE_CALLS.labels(endpoint=endpoint, outcome=str(exc.status)).inc()
            raise _api_error(endpoint, exc) from exc
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


def _rich_menu(rich_menu: dict) -> RichMenuRequest:
    return RichMenuRequest.from_dict(rich_menu)


def _check_bulk(user_ids: list[str]) -> None:
    if not 1 <= len(user_ids) <= RICH_MENU_BULK_MAX:
        raise ValueError(f"a bulk rich-menu call takes 1 to {RICH_MENU_BULK_MAX} users, not {len(user_ids)}")


def _line_date(day: date) -> str:
    return day.strftime("%Y%m%d")


def _text(value) -> str:
    """The plain value of an SDK enum member (or of a plain string)."""
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def _request_id(headers) -> str:
    if not headers:
        return ""
    return headers.get("X-Line-Request-Id") or headers.get("x-line-request-id") or ""


def _api_error(endpoint: str, exc) -> LineApiError:
    status = exc.status or 0
    body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes | bytearray) else str(exc.body or "")
    headers = exc.headers or {}
    details = {"endpoint": endpoint, "request_id": _request_id(headers), "body": body[:500]}
    accepted = headers.get("x-line-accepted-request-id") if hasattr(headers, "get") else None
    if accepted:
        details["accepted_request_id"] = accepted
    if status == 400 and endpoint == "reply" and "invalid reply token" in body.lower():
        return InvalidReplyTokenError(status=status, details=details)
    if status == 429 and MONTHLY_LIMIT_TEXT in body.lower():
        return MonthlyLimitError(status=status, retryable=False, details=details)
    retryable = status == 429 or status >= 500
    return LineApiError(f"LINE {endpoint} answered HTTP {status}.", status=status, retryable=retryable, details=details)


# --- retrying ---------------------------------------------------------------------------------
@dataclass
class RetryRecord:
    """What the attempts of one call went through; ``ambiguous`` when LINE may have acted on one."""

    ambiguous: bool = False


def _retryable(error: BaseException) -> bool:
    return isinstance(error, LineApiError) and error.retryable


def with_retries(call: Callable[[], T], record: RetryRecord | None = None) -> T:
    """Runs ``call`` with jittered exponential backoff on 429, 5xx and transport errors.

    Pushes and multicasts carry an ``X-Line-Retry-Key`` (LINE answers 409 to a repeat it
    already accepted) and reads are reads, so repeating them is safe.  A reply-token call may
    have reached LINE before its answer was lost: ``record.ambiguous`` tells the caller.
    """
    record = record if record is not None else RetryRecord()
    retrying = Retrying(
        stop=stop_after_attempt(max(1, settings.LINE_API_ATTEMPTS)),
        wait=wait_exponential(multiplier=settings.LINE_API_RETRY_WAIT, max=4.0)
        + wait_random(0, settings.LINE_API_RETRY_WAIT),
        retry=retry_if_exception(_retryable),
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            try:
                return call()
            except LineApiError as exc:
                if (exc.details or {}).get("ambiguous"):
                    record.ambiguous = True
                raise
    raise AssertionError("unreachable")  # pragma: no cover


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
