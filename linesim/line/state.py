"""Everything the LINE double remembers: users, groups, reply tokens, retry keys, contents, rich menus,
what the bot sent, the webhooks posted, and the simulator's timeline. One instance per running double."""

from __future__ import annotations

import itertools
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

TIMELINE_LIMIT = 5000
RECORD_LIMIT = 100_000
# Bounds for what piles up when the double runs for days or under load: the oldest entries go first.
KEPT_EVENTS = 20_000
KEPT_TOKENS = 100_000


def new_user_id() -> str:
    return "U" + secrets.token_hex(16)


def new_group_id() -> str:
    return "C" + secrets.token_hex(16)


def new_room_id() -> str:
    return "R" + secrets.token_hex(16)


@dataclass
class ReplyToken:
    source: dict[str, str]
    expires_at: float
    used: bool = False


@dataclass
class AcceptedRetryKey:
    request_id: str
    sent_messages: list[dict[str, str]] | None
    expires_at: float


@dataclass
class Content:
    data: bytes
    content_type: str
    file_name: str = ""


@dataclass
class RichMenu:
    rich_menu_id: str
    body: dict[str, Any]
    image: Content | None = None


@dataclass
class State:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    rooms: dict[str, dict[str, Any]] = field(default_factory=dict)
    followers: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)
    ever_followed: set[str] = field(default_factory=set)
    reply_tokens: dict[str, ReplyToken] = field(default_factory=dict)
    mark_as_read_tokens: dict[str, None] = field(default_factory=dict)  # an insertion-ordered set
    retry_keys: dict[str, AcceptedRetryKey] = field(default_factory=dict)
    contents: dict[str, Content] = field(default_factory=dict)
    rich_menus: dict[str, RichMenu] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    user_menus: dict[str, str] = field(default_factory=dict)
    default_menu: str | None = None
    narrowcasts: dict[str, dict[str, Any]] = field(default_factory=dict)
    usage: int = 0
    deliveries_by_day: dict[str, dict[str, int]] = field(default_factory=dict)
    recorded: deque = field(default_factory=lambda: deque(maxlen=RECORD_LIMIT))
    webhooks: deque = field(default_factory=lambda: deque(maxlen=RECORD_LIMIT))
    sent_events: dict[str, dict[str, Any]] = field(default_factory=dict)
    timeline: deque = field(default_factory=lambda: deque(maxlen=TIMELINE_LIMIT))
    seq: int = 0
    message_seq: int = 600_000_000_000_000

    # -- ids -------------------------------------------------------------------------------------------------------
    def next_message_id(self) -> str:
        self.message_seq += 1
        return str(self.message_seq)

    # -- people ----------------------------------------------------------------------------------------------------
    def ensure_user(self, user_id: str, display_name: str | None = None, **extra: Any) -> dict[str, Any]:
        user = self.users.get(user_id)
        if user is None:
            user = {
                "userId": user_id,
                "displayName": display_name or f"User {user_id[-4:]}",
                "language": "en",
                "pictureUrl": None,
                "statusMessage": None,
            }
            self.users[user_id] = user
        elif display_name:
            user["displayName"] = display_name
        user.update({key: value for key, value in extra.items() if value is not None})
        return user

    def ensure_group(self, group_id: str, name: str | None = None) -> dict[str, Any]:
        group = self.groups.setdefault(group_id, {"groupId": group_id, "groupName": name or "Group", "members": []})
        if name:
            group["groupName"] = name
        return group

    def ensure_room(self, room_id: str) -> dict[str, Any]:
        return self.rooms.setdefault(room_id, {"roomId": room_id, "members": []})

    # -- tokens ----------------------------------------------------------------------------------------------------
    def issue_reply_token(self, source: dict[str, str], ttl: float, token: str | None = None) -> str:
        """A fresh reply token for the chat, or ``token`` itself registered as one (a token from recorded events)."""
        token = token or secrets.token_hex(16)
        self.reply_tokens[token] = ReplyToken(source=source, expires_at=time.monotonic() + ttl)
        if len(self.reply_tokens) > KEPT_TOKENS:
            now = time.monotonic()
            self.reply_tokens = {
                key: entry for key, entry in self.reply_tokens.items() if not entry.used and entry.expires_at >= now
            }
            _trim(self.reply_tokens, KEPT_TOKENS)
        return token

    def issue_mark_as_read_token(self) -> str:
        token = secrets.token_urlsafe(24)
        self.mark_as_read_tokens[token] = None
        _trim(self.mark_as_read_tokens, KEPT_TOKENS)
        return token

    def remember_event(self, event: dict[str, Any]) -> None:
        self.sent_events[event["webhookEventId"]] = event
        _trim(self.sent_events, KEPT_EVENTS)

    def accept_retry_key(self, key: str, entry: AcceptedRetryKey) -> None:
        self.retry_keys[key] = entry
        if len(self.retry_keys) > KEPT_TOKENS:
            now = time.monotonic()
            self.retry_keys = {k: v for k, v in self.retry_keys.items() if v.expires_at >= now}
            _trim(self.retry_keys, KEPT_TOKENS)

    def spend_reply_token(self, token: str) -> ReplyToken | None:
        """The token's record if it is valid now (and marks it spent), else None."""
        entry = self.reply_tokens.get(token)
        if entry is None or entry.used or entry.expires_at < time.monotonic():
            return None
        entry.used = True
        return entry

    def accepted_retry_key(self, key: str) -> AcceptedRetryKey | None:
        entry = self.retry_keys.get(key)
        if entry is not None and entry.expires_at < time.monotonic():
            del self.retry_keys[key]
            return None
        return entry

    # -- timeline (what the simulator page polls) -------------------------------------------------------------------
    def add_to_timeline(self, kind: str, chat: str, **payload: Any) -> dict[str, Any]:
        self.seq += 1
        entry = {"seq": self.seq, "kind": kind, "chat": chat, "time": time.time(), **payload}
        self.timeline.append(entry)
        return entry

    def timeline_since(self, seq: int) -> list[dict[str, Any]]:
        return [entry for entry in self.timeline if entry["seq"] > seq]

    def count_delivery(self, day: str, kind: str, count: int) -> None:
        per_day = self.deliveries_by_day.setdefault(day, {})
        per_day[kind] = per_day.get(kind, 0) + count


def _trim(entries: dict, limit: int) -> None:
    """Drops the oldest entries of an insertion-ordered dict beyond ``limit``."""
    for key in list(itertools.islice(entries, max(0, len(entries) - limit))):
        del entries[key]


def chat_key(source: dict[str, str]) -> str:
    """The simulator's name for a chat: ``user:U…``, ``group:C…`` or ``room:R…``."""
    if source.get("type") == "group":
        return "group:" + source["groupId"]
    if source.get("type") == "room":
        return "room:" + source["roomId"]
    return "user:" + source["userId"]


def chat_key_for_id(target: str) -> str:
    prefix = {"C": "group:", "R": "room:"}.get(target[:1], "user:")
    return prefix + target
