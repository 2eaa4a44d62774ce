"""line-bot-sdk's Messaging API and Audience models, imported here only.

The SDK takes about a second to import (pydantic models for every message type), so nothing imports
this module until a LINE call is made: a process that never talks to LINE, and every ``manage.py``
command, starts without it.
"""

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
    Message,
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

__all__ = [
    "ApiClient",
    "ApiException",
    "AudienceApiClient",
    "AudienceApiException",
    "AudienceConfiguration",
    "BroadcastRequest",
    "Configuration",
    "CreateAudienceGroupRequest",
    "CreateRichMenuAliasRequest",
    "ManageAudience",
    "Message",
    "MessagingApi",
    "MessagingApiBlob",
    "MulticastRequest",
    "NarrowcastRequest",
    "PushMessageRequest",
    "ReplyMessageRequest",
    "RichMenuBulkLinkRequest",
    "RichMenuBulkUnlinkRequest",
    "RichMenuRequest",
    "ShowLoadingAnimationRequest",
    "UpdateRichMenuAliasRequest",
    "ValidateMessageRequest",
]
