"""A query string holding U+0000 is refused with 400 before it reaches PostgreSQL, which cannot store it."""

import pytest

pytestmark = pytest.mark.django_db


def test_it_refuses_a_nul_in_an_api_query_in_the_api_error_shape(client):
    response = client.get("/api/v1/campaigns/", {"status": "draft\x00"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_it_refuses_a_nul_in_a_parameter_name(client):
    response = client.get("/api/v1/campaigns/?a%00b=1")

    assert response.status_code == 400


def test_it_refuses_a_nul_on_a_console_page_with_a_plain_400(admin_client):
    response = admin_client.get("/admin/conversations/lineuser/", {"q": "\x00"})

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")


def test_it_lets_a_query_without_nul_through(client):
    assert client.get("/healthz", {"q": "ok"}).status_code == 200
