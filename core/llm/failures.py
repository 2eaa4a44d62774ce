"""How the model's failures reach our callers: the SDK's errors mapped onto :class:`core.errors.LLMError`,
and the retry the SDK would make after too long a wait turned down."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.errors import ConfigurationError, LLMError
from core.lazy import LazyModule

openai = LazyModule("openai")
httpx2 = LazyModule("httpx2")


class ContentFilteredError(LLMError):
    """The provider's content filter refused the prompt or cut the answer."""

    code = "llm_content_filtered"
    default_message = "The language model's content filter refused this conversation."


class LLMConfigurationError(ConfigurationError, LLMError):
    """The model is not configured; an ``LLMError`` too, so callers apologise rather than crash."""


def map_sdk_error(exc: openai.APIError) -> LLMError:
    if isinstance(exc, openai.APITimeoutError):
        return LLMError("The language model did not answer in time.", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        return LLMError("The language model could not be reached.", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        error_code = exc.code
        if status == 400 and error_code == "content_filter":
            return ContentFilteredError(status=status, details={"finish_reason": "content_filter"})
        details: dict[str, Any] = {"provider_code": error_code} if error_code else {}
        retry_after = exc.response.headers.get("retry-after")
        if retry_after:
            details["retry_after"] = retry_after
        if status in (401, 403):
            return LLMError("The language model refused our credentials.", status=status, details=details)
        retryable = status in (408, 409, 429) or status >= 500
        return LLMError(
            f"The language model answered HTTP {status}.", status=status, retryable=retryable, details=details
        )
    # Any other failure of the SDK's (a body it could not read): the service failed mid-answer.
    return LLMError("The language model failed while answering.", retryable=True)


def no_retry_after_long_waits(max_wait: float) -> Callable[[httpx2.Response], None]:
    def hook(response: httpx2.Response) -> None:
        # The SDK would sleep as long as the server asks (up to two minutes) before its
        # retry; x-should-retry is the SDK's own switch to skip that retry instead.
        if response.status_code in (429, 503):
            for header, divisor in (("retry-after-ms", 1000), ("retry-after", 1)):
                value = response.headers.get(header)
                if value is None:
                    continue
                try:
                    wait = float(value) / divisor
                except ValueError:
                    break
                if wait > max_wait:
                    response.headers["x-should-retry"] = "false"
                break

    return hook
