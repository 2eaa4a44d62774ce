"""Login, token and API requests are rate limited in Redis, and the limits tighten when failures spike."""

import pytest
from django.core.cache import cache

import accounts.ratelimit
from accounts.ratelimit import GROUP_LOGIN_IP, adaptive_rate, record_outcome, reset_tightening_cache
from core.config.services import setting_update
from core.redis import get_redis

pytestmark = pytest.mark.django_db

NOW = 1_900_000_020.0  # a fixed instant well inside one rate-limit window


class _FrozenClock:
    @staticmethod
    def time():
        return NOW


@pytest.fixture(autouse=True)
def _limits_on(settings, monkeypatch):
    settings.RATELIMIT_ENABLE = True
    # Frozen time: a window boundary between two requests would reset the count and make a test flaky.
    monkeypatch.setattr("django_ratelimit.core.time", _FrozenClock)
    monkeypatch.setattr(accounts.ratelimit, "time", _FrozenClock)
    _forget_counters()
    reset_tightening_cache()
    yield
    _forget_counters()
    reset_tightening_cache()


def _forget_counters():
    cache.delete_pattern("rl:*")
    manager = get_redis()
    for key in manager.client.scan_iter(manager.key("ratelimit:stats:*")):
        manager.client.delete(key)


@pytest.fixture
def limits(administrator):
    def set_limits(*, login=None, api=None):
        if login is not None:
            setting_update(key="ratelimit.login_attempts_per_minute", value=login, actor=administrator, reason="test")
        if api is not None:
            setting_update(key="ratelimit.api_requests_per_minute", value=api, actor=administrator, reason="test")

    return set_limits


@pytest.fixture
def administrator(django_user_model):
    return django_user_model.objects.create_superuser(username="root", password="a-long-test-password-123")


def _login(client, username, ip="203.0.113.7"):
    return client.post("/admin/login/", {"username": username, "password": "wrong-password-123"}, REMOTE_ADDR=ip)


def test_it_limits_admin_login_attempts_per_address(client, limits):
    limits(login=3)
    statuses = [_login(client, f"user{n}").status_code for n in range(3)]
    limited = _login(client, "user9")

    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) > 0
    assert "Too many attempts" in limited.content.decode()
    assert _login(client, "user9", ip="198.51.100.1").status_code == 200


def test_it_limits_admin_login_attempts_per_username_across_addresses(client, limits):
    limits(login=3)
    statuses = [_login(client, "carol", ip=f"198.51.100.{n}").status_code for n in range(1, 4)]
    assert statuses == [200, 200, 200]
    assert _login(client, "Carol", ip="198.51.100.99").status_code == 429


def test_it_does_not_count_showing_the_login_page(client, limits):
    limits(login=2)
    assert all(client.get("/admin/login/").status_code == 200 for _ in range(5))


def test_it_answers_429_from_the_token_endpoint_in_the_api_error_shape(client, limits):
    limits(login=2)
    for _ in range(2):
        client.post("/api/v1/auth/token/", {"username": "dave", "password": "nope"}, content_type="application/json")
    response = client.post(
        "/api/v1/auth/token/", {"username": "dave", "password": "nope"}, content_type="application/json"
    )

    assert response.status_code == 429
    assert response["Retry-After"]
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["correlation_id"] == response["X-Request-ID"]


def test_it_limits_the_refresh_endpoint_per_address(client, limits):
    limits(login=2)
    for _ in range(2):
        client.post("/api/v1/auth/token/refresh/", {"refresh": "x"}, content_type="application/json")
    response = client.post("/api/v1/auth/token/refresh/", {"refresh": "x"}, content_type="application/json")
    assert response.status_code == 429


def test_it_limits_the_api_per_key_whatever_secret_is_tried(client, limits):
    limits(api=2)
    guesses = [client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Api-Key abcd1234.guess{n}") for n in range(3)]
    other_key = client.get("/api/v1/me", HTTP_AUTHORIZATION="Api-Key wxyz9876.secret")

    assert [r.status_code for r in guesses[:2]] != [429, 429]
    assert guesses[2].status_code == 429
    assert guesses[2].json()["error"]["code"] == "rate_limited"
    assert other_key.status_code != 429


def test_it_limits_anonymous_api_requests_per_address(client, limits):
    limits(api=2)
    for _ in range(2):
        client.get("/api/v1/me", REMOTE_ADDR="192.0.2.10")
    assert client.get("/api/v1/me", REMOTE_ADDR="192.0.2.10").status_code == 429
    assert client.get("/api/v1/me", REMOTE_ADDR="192.0.2.11").status_code != 429


def test_it_tightens_the_limits_when_the_failure_ratio_spikes(client, limits, settings):
    settings.RATELIMIT_MIN_SAMPLE = 10
    settings.RATELIMIT_TIGHTEN_FACTOR = 4
    limits(login=8)
    assert adaptive_rate(GROUP_LOGIN_IP) == "8/m"

    # Credential stuffing: every address stays under its own limit, but nearly everything fails.
    for n in range(10):
        assert _login(client, f"victim{n}", ip=f"203.0.113.{n + 10}").status_code == 200
    reset_tightening_cache()

    assert adaptive_rate(GROUP_LOGIN_IP) == "2/m"
    fresh_ip = "198.51.100.200"
    statuses = [_login(client, f"other{n}", ip=fresh_ip).status_code for n in range(3)]
    assert statuses == [200, 200, 429]


def test_it_does_not_tighten_for_mostly_successful_traffic(settings, limits):
    settings.RATELIMIT_MIN_SAMPLE = 10
    limits(login=8)
    for n in range(30):
        record_outcome(GROUP_LOGIN_IP, failed=n % 5 == 0)
    assert adaptive_rate(GROUP_LOGIN_IP) == "8/m"


def test_it_does_not_tighten_for_a_few_failures_below_the_sample_size(settings, limits):
    settings.RATELIMIT_MIN_SAMPLE = 10
    limits(login=8)
    for _ in range(9):
        record_outcome(GROUP_LOGIN_IP, failed=True)
    assert adaptive_rate(GROUP_LOGIN_IP) == "8/m"


def test_it_lets_requests_pass_when_the_cache_is_down(client, limits, settings):
    limits(login=1)
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2, "IGNORE_EXCEPTIONS": True},
        }
    }
    assert [_login(client, "erin").status_code for _ in range(3)] == [200, 200, 200]
