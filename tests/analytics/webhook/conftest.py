"""The webhook's fixtures (signed events posted, tasks run against the doubles), for analytics' own tests."""

from tests.conversations.conftest import (  # noqa: F401
    _clean_conversation_keys,
    _conversation_settings,
    events,
    post_events,
)
