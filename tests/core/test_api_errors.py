"""Every API error has one JSON shape and never shows a stack trace."""

import pytest
from django.urls import path
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient

from core.errors import LLMError, RateLimitedError


class NameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=5)


@api_view(["POST"])
@permission_classes([AllowAny])
def validated(request):
    NameSerializer(data=request.data).is_valid(raise_exception=True)
    return None


@api_view(["GET"])
@permission_classes([AllowAny])
def crashing(request):
    raise RuntimeError("secret internal detail")


@api_view(["GET"])
@permission_classes([AllowAny])
def upstream(request):
    raise LLMError("The model timed out.", retryable=True)


@api_view(["GET"])
@permission_classes([AllowAny])
def limited(request):
    raise RateLimitedError(retry_after=30)


@api_view(["GET"])
def private(request):
    return None


urlpatterns = [
    path("validated", validated),
    path("crashing", crashing),
    path("upstream", upstream),
    path("limited", limited),
    path("private", private),
]

pytestmark = pytest.mark.urls(__name__)


@pytest.fixture
def client():
    return APIClient(raise_request_exception=False)


def assert_error_shape(body, code):
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"]["correlation_id"]


def test_it_reports_validation_errors_with_field_details(client):
    response = client.post("/validated", {"name": "far too long"}, format="json")

    assert response.status_code == 400
    assert_error_shape(response.json(), "invalid")
    assert "name" in response.json()["error"]["details"]


def test_it_hides_unexpected_exceptions(client):
    response = client.get("/crashing")

    assert response.status_code == 500
    assert_error_shape(response.json(), "internal_error")
    assert "secret internal detail" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_it_maps_upstream_errors_to_bad_gateway(client):
    response = client.get("/upstream")

    assert response.status_code == 502
    assert_error_shape(response.json(), "llm_error")


def test_it_sets_retry_after_when_rate_limited(client):
    response = client.get("/limited")

    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    assert_error_shape(response.json(), "rate_limited")


def test_it_reports_missing_authentication_in_the_same_shape(client):
    response = client.get("/private")

    assert response.status_code in (401, 403)
    assert_error_shape(response.json(), "not_authenticated")


def test_it_puts_the_correlation_id_of_the_header_in_the_body(client):
    response = client.get("/crashing", HTTP_X_REQUEST_ID="req-123")

    assert response["X-Request-ID"] == "req-123"
    assert response.json()["error"]["correlation_id"] == "req-123"
