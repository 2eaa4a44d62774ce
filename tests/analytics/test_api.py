"""The analytics API: shapes, scope, cursor pages, streamed CSV, bad input in the one error shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import StreamingHttpResponse

from analytics.models import Event

from .conftest import SENT, client_for, deliver, key_client, make_users, roll, tap

pytestmark = pytest.mark.django_db
URL = "/api/v1/analytics"


def test_it_answers_a_campaigns_measures_with_their_denominators(analyst, campaign):
    users = make_users(20)
    deliver(campaign, users)
    tap(users[0], campaign.rich_message, "like", at=SENT + timedelta(hours=1))
    roll()

    body = client_for(analyst).get(f"{URL}/campaigns/{campaign.pk}").json()

    assert body["campaign"]["name"] == "Morning run"
    assert body["delivered"]["ours"] == 20 and body["unique_tappers"] == 1
    assert body["engagement_rate"] == {
        "value": 0.05,
        "numerator": "unique_tappers",
        "numerator_value": 1,
        "denominator": "delivered (ours)",
        "denominator_value": 20,
        "hidden": False,
    }
    assert [row["button"] for row in body["by_button"]] == ["like"]


def test_it_answers_a_templates_measures(analyst, campaign):
    deliver(campaign, make_users(2))
    roll()

    template = campaign.rich_message.template_version.template_id
    body = client_for(analyst).get(f"{URL}/templates/{template}").json()

    assert body["template"]["id"] == template and body["delivered"]["ours"] == 2


def test_it_answers_a_users_profile(analyst):
    user = make_users(1, timezone="Asia/Tokyo")[0]

    body = client_for(analyst).get(f"{URL}/users/{user.line_user_id}").json()

    assert body["timezone"] == "Asia/Tokyo" and len(body["heatmap"]["counts"]) == 7


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/campaigns/999999", 404, "not_found"),
        ("/campaigns/abc", 400, "invalid"),
        ("/campaigns/99999999999999999999999", 404, "not_found"),
        ("/templates/999999", 404, "not_found"),
        ("/users/Unobody", 404, "not_found"),
        ("/events?since=yesterday", 400, "invalid"),
        ("/events?since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z", 400, "invalid"),
        ("/events?type=tapped", 400, "invalid"),
        ("/events?campaign=x", 400, "invalid"),
        ("/events?user=Unobody", 404, "not_found"),
        ("/events?limit=0", 400, "invalid"),
        ("/events?format=xml", 400, "invalid"),
        ("/events?since=9999-12-31T23:00:00-22:00", 400, "invalid"),
        ("/events?since=", 400, "invalid"),
        ("/events?until=", 400, "invalid"),
        ("/events?campaign=", 400, "invalid"),
        ("/events?user=", 404, "not_found"),
    ],
)
def test_it_answers_bad_input_in_the_one_error_shape(analyst, path, status, code):
    response = client_for(analyst).get(URL + path)

    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


def test_it_refuses_a_key_without_the_analytics_scope(analyst, campaign):
    response = key_client(analyst, "campaigns:read").get(f"{URL}/campaigns/{campaign.pk}")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_it_serves_a_key_with_the_analytics_scope(analyst, campaign):
    assert key_client(analyst, "analytics:read").get(f"{URL}/campaigns/{campaign.pk}").status_code == 200


def test_it_refuses_a_role_without_analytics(editor, campaign):
    assert client_for(editor).get(f"{URL}/campaigns/{campaign.pk}").status_code == 403


def test_it_pages_events_with_a_cursor(analyst, campaign):
    users = make_users(5)
    for minute, user in enumerate(users):
        deliver(campaign, [user], at=SENT + timedelta(minutes=minute))
    client = client_for(analyst)

    first = client.get(f"{URL}/events?limit=2&campaign={campaign.pk}").json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()

    seen = [row["line_user_id"] for page in (first, second, third) for row in page["results"]]
    assert seen == [user.line_user_id for user in reversed(users)]
    assert third["next"] is None and "offset" not in first["next"]


def test_it_filters_events_by_type_user_and_time(analyst, campaign):
    user, other = make_users(2)
    deliver(campaign, [user, other])
    tap(user, campaign.rich_message, "like", at=SENT + timedelta(hours=1))
    tap(user, campaign.rich_message, "save", at=SENT + timedelta(hours=3))

    query = f"type=postback&user={user.line_user_id}&since=2026-11-02T02:30:00Z&until=2026-11-02T04:00:00Z"
    body = client_for(analyst).get(f"{URL}/events?{query}").json()

    assert [(row["button"], row["campaign_id"]) for row in body["results"]] == [("like", campaign.pk)]


def test_it_takes_an_offset_postgresql_would_refuse_as_the_same_instant(analyst, campaign):
    user, other = make_users(2)
    deliver(campaign, [user, other])
    tap(user, campaign.rich_message, "like", at=SENT + timedelta(hours=1))

    # 2026-11-02T02:30Z written with an offset of -22:30, which Python accepts and PostgreSQL does not.
    query = "type=postback&since=2026-11-01T04:00:00-22:30&format=csv"
    response = client_for(analyst).get(f"{URL}/events?{query}")

    assert response.status_code == 200
    assert b"like" in b"".join(response.streaming_content)


def test_it_streams_the_events_as_csv(analyst, campaign):
    users = make_users(2500)
    deliver(campaign, users)

    response = client_for(analyst).get(f"{URL}/events?format=csv&campaign={campaign.pk}")

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    pieces = list(response.streaming_content)
    lines = b"".join(pieces).decode().splitlines()
    assert len(pieces) > 2 and len(lines) == 2501
    assert lines[0].startswith("id,occurred_at,type,line_user_id,campaign_id")
    assert lines[1].split(",")[2] == "delivered"


def test_it_streams_a_campaigns_daily_rows_as_csv(analyst, campaign):
    deliver(campaign, make_users(3))
    roll()

    response = client_for(analyst).get(f"{URL}/campaigns/{campaign.pk}?format=csv")

    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("day,type,campaign_id") and lines[1].startswith(f"2026-11-02,delivered,{campaign.pk}")


def test_it_keeps_a_spreadsheet_from_running_a_cell(analyst):
    user = make_users(1)[0]
    Event.objects.create(type=Event.Type.POSTBACK, line_user=user, button="=HYPERLINK(1)")

    lines = b"".join(client_for(analyst).get(f"{URL}/events?format=csv").streaming_content).decode()

    assert "'=HYPERLINK(1)" in lines


def test_it_refuses_a_nul_character_in_a_filter_with_the_error_shape(analyst):
    client = key_client(analyst, "analytics:read")

    response = client.get("/api/v1/analytics/events", {"user": "U\x00"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "NUL" in response.json()["error"]["message"]


def test_it_refuses_an_empty_event_type(analyst):
    response = key_client(analyst, "analytics:read").get("/api/v1/analytics/events?type=")

    assert response.status_code == 400
    assert response.json()["error"]["details"]["type"]
