"""What handling one event produced: the LINE messages to send and the messages to store.

Handlers never send anything themselves (delivery does, exactly once) and write nothing
that a rerun would duplicate: the messages to record travel in the outcome and are stored
together with the prepared reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conversations.models import Conversation, LineUser


@dataclass
class Draft:
    """A message to store once the answer is prepared."""

    role: str
    content: str
    media_ref: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int | None = None
    model: str = ""
    # What the next prompts remember of this message; None keeps it out of the context.
    context_text: str | None = None


@dataclass
class Outcome:
    messages: list[dict] | None = None
    drafts: list[Draft] = field(default_factory=list)
    conversation: Conversation | None = None
    user: LineUser | None = None
    # Not answered because an operator has taken the conversation over (conversations.takeovers).
    taken_over: bool = False
    # The conversation was started by this event: it has no context stored yet.
    new_conversation: bool = False
