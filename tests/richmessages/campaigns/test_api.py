"""The campaigns API: shapes, scopes, four eyes, bad input, and a schemathesis run over its schema."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from rest_framework.test import APIClient
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from accounts import api_keys
from accounts.models import AuditEvent
from richmessages.campaigns.models import Campaign

from .conftest import line_id, make_followers

pytestmark = pytest.mark.django_db

URL = "/api/v1/campaigns/"


def client_for(user):
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def key_client(user, *scopes):
    issued = api_keys.api_key_create(user=user, name="ci", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.plaintext}")
    return client


def create(client, message, **fields):
    body = {"name": "Spring news", "rich_message": message.pk, "audience": {"type": "all_followers"}}
    body.update(fields)
    return client.post(URL, body, format="json")


def test_it_creates_a_draft_and_shows_the_recipient_count_before_approval(editor, rich_message):
    make_followers(7)

    response = create(client_for(editor), rich_message, send_at=None)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "draft" and body["author"] == "editor"
    assert body["estimate"]["recipients"] == 7
    assert body["counts"] == {"recipients": 0, "sent": 0, "failed": 0, "skipped": 0, "held": 0}


def test_it_answers_the_status_and_the_counts(editor, rich_message):
    created = create(client_for(editor), rich_message).json()

    body = client_for(editor).get(f"{URL}{created['id']}").json()

    assert body["status"] == "draft"
    assert set(body["counts"]) == {"recipients", "sent", "failed", "skipped", "held"}


def test_it_answers_403_in_the_error_shape_for_approving_ones_own_campaign(administrator, rich_message):
    client = client_for(administrator)
    created = create(client, rich_message).json()
    client.post(f"{URL}{created['id']}/submit")

    response = client.post(f"{URL}{created['id']}/approve", {}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert "someone else" in response.json()["error"]["message"]
    assert Campaign.objects.get().status == "in_review"


def test_it_schedules_the_campaign_when_an_operator_approves(editor, operator, rich_message):
    created = create(client_for(editor), rich_message).json()
    client_for(editor).post(f"{URL}{created['id']}/submit")

    response = client_for(operator).post(f"{URL}{created['id']}/approve", {"comment": "ok"}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["approved_by"]) == ("scheduled", "operator")
    assert response.json()["next_send_at"] is not None


def test_it_refuses_an_editor_approving(editor, second_editor, rich_message):
    created = create(client_for(editor), rich_message).json()
    client_for(editor).post(f"{URL}{created['id']}/submit")

    response = client_for(second_editor).post(f"{URL}{created['id']}/approve", {}, format="json")

    assert response.status_code == 403


def test_it_needs_a_comment_for_sending_back(editor, operator, rich_message):
    created = create(client_for(editor), rich_message).json()
    client_for(editor).post(f"{URL}{created['id']}/submit")

    refused = client_for(operator).post(f"{URL}{created['id']}/reject", {}, format="json")
    sent_back = client_for(operator).post(f"{URL}{created['id']}/reject", {"comment": "Typo in title"}, format="json")

    assert refused.status_code == 400 and "comment" in refused.json()["error"]["details"]
    assert sent_back.json()["status"] == "draft" and sent_back.json()["review_comment"] == "Typo in title"


def test_it_returns_an_approved_campaign_to_draft_when_edited(editor, operator, rich_message):
    created = create(client_for(editor), rich_message).json()
    client_for(editor).post(f"{URL}{created['id']}/submit")
    client_for(operator).post(f"{URL}{created['id']}/approve", {}, format="json")

    response = client_for(editor).patch(f"{URL}{created['id']}", {"name": "Spring news 2"}, format="json")

    assert response.json()["status"] == "draft" and response.json()["approved_by"] is None
    assert response.json()["next_send_at"] is None
    audit = AuditEvent.objects.filter(action="campaign_updated").latest("created_at")
    assert audit.details["returned_to_draft_from"] == "scheduled" and audit.details["changed"] == ["name"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"audience": {"type": "everyone"}}, "audience.type"),
        ({"audience": {"type": "segment", "language": "th"}}, "audience.language"),
        ({"audience": {"type": "segment", "tags": ["a\u0000b"]}}, "audience.tags"),
        ({"audience": {"type": "users", "line_user_ids": ["not-an-id"]}}, "audience.line_user_ids"),
        ({"recurrence": "FREQ=MINUTELY"}, "recurrence"),
        ({"recurrence": "DTSTART:20300101T000000\nRRULE:FREQ=DAILY"}, "recurrence"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"quiet_hours_start": "22:00"}, "quiet_hours_end"),
        ({"frequency_cap_day": 5, "frequency_cap_week": 2}, "frequency_cap_week"),
        ({"step_days": 31}, "step_days"),
        ({"rich_message": 999999}, "rich_message"),
        ({"holdout_percent": 90}, "holdout_percent"),
        ({"audience": {"type": "narrowcast", "demographic": {"type": "age", "gte": "age_99"}}}, "audience.demographic"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(editor, rich_message, fields, field):
    response = create(client_for(editor), rich_message, **fields)

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["details"]
    assert not Campaign.objects.exists()


def test_it_reports_unknown_and_unfollowed_ids_in_an_uploaded_list(editor, rich_message):
    active = make_followers(2)
    gone = make_followers(1, status="inactive")
    unknown = line_id()
    created = create(client_for(editor), rich_message).json()
    rows = "line_user_id\n" + "\n".join([*(u.line_user_id for u in active + gone), unknown])

    response = client_for(editor).post(
        f"{URL}{created['id']}/audience-upload",
        {"file": SimpleUploadedFile("list.csv", rows.encode(), content_type="text/csv")},
        format="multipart",
    )

    report = response.json()["audience_report"]
    assert (report["uploaded"], report["unknown"], report["unfollowed_count"]) == (4, [unknown], 1)
    assert response.json()["estimate"]["recipients"] == 2


def test_it_refuses_a_bad_csv_and_changes_nothing(editor, rich_message):
    created = create(client_for(editor), rich_message).json()

    response = client_for(editor).post(
        f"{URL}{created['id']}/audience-upload",
        {"file": SimpleUploadedFile("list.csv", b"id\nnot-a-user\n", content_type="text/csv")},
        format="multipart",
    )

    assert response.status_code == 400
    assert Campaign.objects.get().audience == {"type": "all_followers"}


def test_it_needs_the_campaign_scopes_on_api_keys(operator, editor, rich_message):
    reader = key_client(editor, "campaigns:read")
    writer = key_client(editor, "campaigns:write")

    assert create(reader, rich_message).status_code == 403
    created = create(writer, rich_message)
    assert created.status_code == 201
    assert reader.get(URL).status_code == 200
    writer.post(f"{URL}{created.json()['id']}/submit")
    assert key_client(operator, "campaigns:write").post(f"{URL}{created.json()['id']}/approve").status_code == 403
    assert key_client(operator, "campaigns:approve").post(f"{URL}{created.json()['id']}/approve").status_code == 200


@pytest.fixture
def fuzz_schema():
    raw = SchemaGenerator().get_schema(request=None, public=True)
    raw["paths"] = {path: item for path, item in raw["paths"].items() if path.startswith("/api/v1/campaigns")}
    loaded = schemathesis.openapi.from_dict(raw)
    loaded.app = get_wsgi_application()
    # As Django's test client does: the WSGI app must not close the test's connection after each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield loaded
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_it_holds_the_campaign_endpoints_to_their_schema_under_fuzzing(fuzz_schema, administrator, rich_message):
    make_followers(3)
    key = api_keys.api_key_create(
        user=administrator, name="fuzz", scopes=["campaigns:read", "campaigns:write", "campaigns:approve"]
    ).plaintext
    failures = []
    for operation in fuzz_schema.get_all_operations():
        strategy = operation.ok().as_strategy()

        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=strategy)
        def run(case):
            response = case.call(headers={"Authorization": f"Api-Key {key}"})
            assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
            # Every call carries a valid key on purpose, and schema-valid data may still break a business rule.
            case.validate_response(response, excluded_checks=[ignored_auth, positive_data_acceptance])

        try:
            run()
        except AssertionError as exc:
            failures.append(str(exc)[:2000])
        except Exception as exc:
            failures.append(f"{operation.ok().label}: {type(exc).__name__}: {str(exc)[:2000]}")
    assert not failures, "\n\n".join(failures)
