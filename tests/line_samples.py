"""LINE's sample webhook payloads (``shared/fixtures/line-webhook-events.json``).

The samples reuse one ``webhookEventId`` for every event. LINE's ids are unique and the bot
answers an id once, so replaying the samples as distinct events gives each its own id.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from ulid import ULID

_RELATIVE = Path("shared") / "fixtures" / "line-webhook-events.json"
_REPO = Path(__file__).resolve().parents[1]


def sample_file() -> Path:
    """The samples in ``shared/`` beside the repository, or beside a directory holding it (a worktree)."""
    for directory in _REPO.parents:
        candidate = directory / _RELATIVE
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{_RELATIVE} is expected beside the repository or one of its parent directories")


def sample_payload() -> dict:
    """The samples as LINE documents them (every event under the same webhookEventId)."""
    return json.loads(sample_file().read_text())


def with_own_ids(events: list[dict]) -> list[dict]:
    """Copies of ``events``, each under a new webhookEventId (a ULID, as LINE's are)."""
    copies = copy.deepcopy(events)
    for event in copies:
        event["webhookEventId"] = str(ULID())
    return copies
