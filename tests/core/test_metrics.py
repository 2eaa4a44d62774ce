import pytest

from core.redis import RedisManager


@pytest.fixture
def production_like(settings):
    settings.DEBUG = False
    settings.METRICS_TOKEN = "metrics-token-for-tests"


def test_it_hides_metrics_when_no_token_is_configured(client, settings):
    settings.DEBUG = False
    settings.METRICS_TOKEN = None

    assert client.get("/metrics").status_code == 404


def test_it_refuses_a_wrong_token(client, production_like):
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong")

    assert response.status_code == 401


def test_it_exposes_the_redis_circuit_state(client, production_like):
    manager = RedisManager("redis://127.0.0.1:1/0", fail_max=1, reset_timeout=60, socket_timeout=0.1)
    manager.get("key")  # one failure opens this breaker

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token-for-tests")

    assert response.status_code == 200
    body = response.content.decode()
    assert "redis_circuit_open 1.0" in body
    assert 'redis_circuit_state_changes_total{state="open"}' in body
    assert 'redis_fallback_operations_total{op="get"}' in body
