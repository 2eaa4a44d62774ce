"""Routes postback events (buttons, quick replies, rich menus) to the app that owns them.

A postback's ``data`` is a query string whose ``action`` names the handler::

    from conversations.postbacks import PostbackRequest, register

    @register("coupon")
    def coupon(request: PostbackRequest) -> list[dict] | None:
        return [{"type": "text", "text": f"Coupon {request.params['id']} saved"}]

A handler returns the LINE messages to answer with, or None for no answer, or a whole
:class:`~conversations.outcome.Outcome` when the tap continues the conversation with the model
(``conversations.chat.ask(request.chat(), ...)``): its messages and drafts are stored and sent as for a text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl

from conversations.chat import Chat
from conversations.models import Conversation, LineUser, WebhookEvent
from conversations.outcome import Outcome
from conversations.texts import text


@dataclass(frozen=True)
class PostbackRequest:
    event: WebhookEvent
    user: LineUser | None
    conversation: Conversation
    data: str
    params: dict[str, str]
    # What a date/time picker returned, when the button was one.
    picker: dict

    def chat(self) -> Chat:
        """The tap's chat, to answer through the model like a text (``conversations.chat.ask``)."""
        return Chat(event=self.event, user=self.user, conversation=self.conversation)


Handler = Callable[[PostbackRequest], list[dict] | Outcome | None]
_handlers: dict[str, Handler] = {}


def register(action: str) -> Callable[[Handler], Handler]:
    def decorator(handler: Handler) -> Handler:
        if action in _handlers and _handlers[action] is not handler:
            raise ValueError(f"A postback handler for {action!r} is already registered.")
        _handlers[action] = handler
        return handler

    return decorator


def unregister(action: str) -> None:
    _handlers.pop(action, None)


def postback_actions() -> frozenset[str]:
    """The actions a postback can name and be answered."""
    return frozenset(_handlers)


def _unknown(user: LineUser | None) -> list[dict]:
    return [{"type": "text", "text": text("postback_unknown", user.language if user else "")}]


def postback_route(
    *, event: WebhookEvent, user: LineUser | None, conversation: Conversation
) -> list[dict] | Outcome | None:
    postback = event.payload.get("postback")
    postback = postback if isinstance(postback, dict) else {}
    data = str(postback.get("data") or "")
    params = dict(parse_qsl(data, keep_blank_values=True))
    handler = _handlers.get(params.get("action", ""))
    if handler is None:
        return _unknown(user)
    request = PostbackRequest(
        event=event,
        user=user,
        conversation=conversation,
        data=data,
        params=params,
        picker=postback.get("params") if isinstance(postback.get("params"), dict) else {},
    )
    return handler(request)


def postback_forward(request: PostbackRequest, data: str) -> list[dict] | Outcome | None:
    """Routes ``data`` as though the tap in ``request`` had carried it: how a rich-menu area hands on its action."""
    params = dict(parse_qsl(data, keep_blank_values=True))
    handler = _handlers.get(params.get("action", ""))
    if handler is None:
        return _unknown(request.user)
    return handler(replace(request, data=data, params=params))


@register("reset")
def _reset(request: PostbackRequest) -> list[dict]:
    from conversations.commands import command_run

    return [
        {
            "type": "text",
            "text": command_run(message="/reset", user=request.user, conversation=request.conversation).reply,
        }
    ]


@register("lang")
def _lang(request: PostbackRequest) -> list[dict]:
    from conversations.commands import command_run

    code = request.params.get("code", "")
    result = command_run(message=f"/lang {code}", user=request.user, conversation=request.conversation)
    return [{"type": "text", "text": result.reply}]


@register("help")
def _help(request: PostbackRequest) -> list[dict]:
    return [{"type": "text", "text": text("help", request.user.language if request.user else "")}]


@register("optout")
def _optout(request: PostbackRequest) -> list[dict]:
    from conversations.commands import command_run

    return [
        {
            "type": "text",
            "text": command_run(message="/stop", user=request.user, conversation=request.conversation).reply,
        }
    ]


@register("optin")
def _optin(request: PostbackRequest) -> list[dict]:
    from conversations.commands import command_run

    return [
        {
            "type": "text",
            "text": command_run(message="/start", user=request.user, conversation=request.conversation).reply,
        }
    ]
