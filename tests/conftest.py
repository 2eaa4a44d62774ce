import pytest

from core.redis import reset_redis


@pytest.fixture(autouse=True)
def _fresh_redis_manager():
    """Each test gets its own Redis manager, so breaker state never leaks between tests."""
    reset_redis()
    yield
    reset_redis()
