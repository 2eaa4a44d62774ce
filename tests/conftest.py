import pytest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.config import runtime
from core.redis import reset_redis

# The LINE and LLM doubles as fixtures (line, llm), for every test directory.
pytest_plugins = ["tests.doubles"]


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


@pytest.fixture
def verified_client(client):
    """Signs ``user`` in on the test client as having passed the second factor, as the ops console requires."""

    def sign_in(user):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        client.force_login(user)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
        return client

    return sign_in
