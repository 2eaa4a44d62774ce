import pytest

from core.config import runtime
from core.redis import reset_redis


@pytest.fixture(autouse=True)
def _fresh_redis_manager():
    """Each test gets its own Redis manager, so breaker state never leaks between tests."""
    reset_redis()
    yield
    reset_redis()


@pytest.fixture(autouse=True)
def _fresh_runtime_settings():
    """Runtime settings cached by one test (inside its rolled-back transaction) never reach the next."""
    runtime.state.reset()
    yield
    runtime.state.reset()
