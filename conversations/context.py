"""A conversation's recent turns, kept in Redis (through the Redis manager) for the next prompt.

The context is trimmed to a token budget: the oldest turns are dropped and what they
were about is folded into a short running summary, so the prompt keeps the gist
of a long talk without growing.  When Redis is down the manager serves the
in-memory fallback, which the memory monitor prunes under pressure (core.apps);
when the key is gone altogether, the context is rebuilt from the stored messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from conversations import tunables
from core.llm.tokens import estimate_tokens
from core.redis import get_redis

_KEY = "conv:ctx:{conversation_id}"
# The running summary may take at most this share of the budget.
_SUMMARY_SHARE = 0.2


@dataclass
class Turn:
    role: str
    content: str

    @property
    def tokens(self) -> int:
        return estimate_tokens(self.content) + 4


@dataclass
class Context:
    summary: str = ""
    turns: list[Turn] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return estimate_tokens(self.summary) + sum(turn.tokens for turn in self.turns)

    def as_messages(self) -> list[dict]:
        messages = []
        if self.summary:
            messages.append({"role": "system", "content": f"Earlier in this conversation: {self.summary}"})
        messages.extend({"role": turn.role, "content": turn.content} for turn in self.turns)
        return messages

    def trimmed(self, budget: int) -> Context:
        turns = list(self.turns)
        summary = self.summary
        summary_budget = int(budget * _SUMMARY_SHARE)
        while turns and estimate_tokens(summary) + sum(t.tokens for t in turns) > budget:
            dropped = turns.pop(0)
            summary = _fold(summary, dropped, summary_budget)
        return Context(summary=summary, turns=turns)


def _fold(summary: str, turn: Turn, budget: int) -> str:
    # Only what the user brought up is kept: it says what the talk was about.
    if turn.role == "user":
        gist = " ".join(turn.content.split())[:120]
        summary = f"{summary} | {gist}" if summary else gist
    while summary and estimate_tokens(summary) > budget:
        _, _, rest = summary.partition(" | ")
        summary = rest if rest else summary[len(summary) // 2 :]
    return summary


def _key(conversation_id: int) -> str:
    return _KEY.format(conversation_id=conversation_id)


def _encode(context: Context) -> bytes:
    return orjson.dumps({"summary": context.summary, "turns": [[t.role, t.content] for t in context.turns]})


def _decode(raw: bytes) -> Context:
    data = orjson.loads(raw)
    return Context(summary=data.get("summary", ""), turns=[Turn(role, content) for role, content in data["turns"]])


def _stored(conversation_id: int) -> Context | None:
    raw = get_redis().get(_key(conversation_id))
    if not raw:
        return None
    try:
        return _decode(raw)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _rebuilt(conversation_id: int, before_message_id: int | None = None) -> Context:
    from conversations.selectors import recent_turns

    rows = recent_turns(conversation_id=conversation_id, before_message_id=before_message_id)
    turns = [Turn(role, content) for role, content in rows]
    return Context(turns=turns).trimmed(tunables.context_token_budget())


def context_stored(conversation_id: int) -> Context | None:
    """What Redis holds for the conversation, without rebuilding it; None when nothing is stored."""
    return _stored(conversation_id)


def context_load(conversation_id: int) -> Context:
    return _stored(conversation_id) or _rebuilt(conversation_id)


def context_append(
    conversation_id: int, turns: list[Turn], *, first_new_message_id: int | None = None, new: bool = False
) -> Context:
    """Adds turns; a context that Redis lost is first rebuilt from the messages stored before them.

    ``new``: the conversation started with these turns, so there is nothing to read first.
    """
    context = Context() if new else _stored(conversation_id) or _rebuilt(conversation_id, first_new_message_id)
    context.turns.extend(turns)
    context = context.trimmed(tunables.context_token_budget())
    get_redis().set(_key(conversation_id), _encode(context), ttl=tunables.context_ttl_seconds())
    return context


def context_clear(conversation_id: int) -> None:
    get_redis().delete(_key(conversation_id))
