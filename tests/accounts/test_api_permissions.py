import pytest

from accounts import api_keys, audit, roles
from accounts.models import ApiKey, AuditEvent

pytestmark = pytest.mark.django_db


def _as(api_client, user):
    api_client.force_authenticate(user=user)
    return api_client


def test_it_refuses_an_anonymous_request(api_client):
    response = api_client.get("/api/v1/audit-events/")
    assert response.status_code == 401
    assert set(response.json()["error"]) >= {"code", "message", "correlation_id"}


def test_it_audits_a_refused_anonymous_request(api_client):
    api_client.get("/api/v1/audit-events/")
    denial = AuditEvent.objects.get(action="permission_denied")
    assert denial.actor is None
    assert denial.details["status"] == 401
    assert denial.target == "/api/v1/audit-events/"


@pytest.mark.parametrize("role", [roles.OPERATOR, roles.CONTENT_EDITOR, roles.ANALYST])
def test_it_lets_only_an_administrator_read_the_audit_log(api_client, make_user, role):
    user = make_user("someone", role=role, device=True)
    response = _as(api_client, user).get("/api/v1/audit-events/")
    assert response.status_code == 403
    denial = AuditEvent.objects.get(action="permission_denied")
    assert denial.actor == user and denial.details["status"] == 403


@pytest.fixture
def logins_and_logouts(make_user):
    other = make_user("other", role=roles.ANALYST)
    audit.record(action=AuditEvent.Action.LOGIN, actor=other)
    audit.record(action=AuditEvent.Action.LOGOUT, actor=other)


@pytest.mark.usefixtures("logins_and_logouts")
def test_it_lets_an_administrator_read_the_audit_log(api_client, administrator):
    everything = _as(api_client, administrator).get("/api/v1/audit-events/").json()
    assert {e["action"] for e in everything["results"]} >= {"login", "logout"}


@pytest.mark.usefixtures("logins_and_logouts")
def test_it_filters_the_audit_log_by_action_and_actor(api_client, administrator):
    logins = _as(api_client, administrator).get("/api/v1/audit-events/", {"action": "login", "actor": "other"}).json()
    assert logins["count"] == 1
    assert [e["action"] for e in logins["results"]] == ["login"]


@pytest.mark.usefixtures("logins_and_logouts")
def test_it_pages_through_the_audit_log(api_client, administrator):
    page = _as(api_client, administrator).get("/api/v1/audit-events/", {"limit": 1}).json()
    assert len(page["results"]) == 1 and page["next"]


def test_it_answers_a_bad_audit_filter_with_a_clear_error(api_client, administrator):
    client = _as(api_client, administrator)
    assert client.get("/api/v1/audit-events/", {"action": "bogus"}).status_code == 400
    response = client.get("/api/v1/audit-events/", {"since": "yesterday-ish"})
    assert response.status_code == 400
    assert "since" in response.json()["error"]["details"]


@pytest.mark.parametrize(
    "query",
    [{"action": ""}, {"since": ""}, {"since": "2026-02-31T00:00:00Z"}, {"until": "0001-01-01T00:00:00+14:00"}],
    ids=["empty-action", "empty-since", "no-such-day", "before-year-one-in-utc"],
)
def test_it_refuses_an_audit_filter_it_cannot_apply(api_client, administrator, query):
    response = _as(api_client, administrator).get("/api/v1/audit-events/", query)
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == set(query)


def test_it_refuses_an_audit_filter_given_twice(api_client, administrator):
    response = _as(api_client, administrator).get("/api/v1/audit-events/?action=login&action=logout")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"action": ["Give it once."]}


def test_it_filters_the_audit_log_by_a_moment_with_any_utc_offset(api_client, administrator):
    # PostgreSQL itself takes offsets up to ±15:59 only.
    response = _as(api_client, administrator).get("/api/v1/audit-events/", {"since": "0189-03-19T17:41:50-17:20"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "query",
    ["limit=abc", "limit=0", "limit=1001", "limit=", "offset=-1", "limit=1&limit=2"],
)
def test_it_refuses_a_page_it_cannot_read(api_client, administrator, query):
    response = _as(api_client, administrator).get(f"/api/v1/audit-events/?{query}")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {query.split("=")[0]}


def test_it_refuses_writes_to_the_audit_log_through_the_api(api_client, administrator):
    client = _as(api_client, administrator)
    event = audit.record(action=AuditEvent.Action.LOGIN)
    assert client.post("/api/v1/audit-events/", {"action": "login"}).status_code == 405
    assert client.delete(f"/api/v1/audit-events/{event.pk}/").status_code == 405


def test_it_lets_users_see_and_manage_only_their_own_keys(api_client, make_user):
    alice = make_user("alice", role=roles.OPERATOR, device=True)
    bob = make_user("bob", role=roles.OPERATOR, device=True)
    bobs = api_keys.api_key_create(user=bob, name="bob-ci", scopes=["me:read"]).api_key
    client = _as(api_client, alice)
    created = client.post("/api/v1/api-keys/", {"name": "alice-ci", "scopes": ["me:read"]}, format="json")
    assert created.status_code == 201
    assert created.json()["key"].startswith(created.json()["prefix"] + ".")
    listed = client.get("/api/v1/api-keys/").json()
    assert [k["name"] for k in listed] == ["alice-ci"]
    assert all("key" not in k for k in listed)
    assert client.get(f"/api/v1/api-keys/{bobs.pk}/").status_code == 404
    assert client.delete(f"/api/v1/api-keys/{bobs.pk}/").status_code == 404
    assert client.post(f"/api/v1/api-keys/{bobs.pk}/rotate/").status_code == 404
    bobs.refresh_from_db()
    assert bobs.revoked_at is None


def test_it_refuses_a_user_issuing_a_key_for_someone_else(api_client, make_user):
    alice = make_user("alice", role=roles.OPERATOR, device=True)
    make_user("bob", role=roles.OPERATOR, device=True)
    response = _as(api_client, alice).post(
        "/api/v1/api-keys/", {"name": "x", "scopes": ["me:read"], "owner": "bob"}, format="json"
    )
    assert response.status_code == 403
    assert not ApiKey.objects.exists()


def test_it_lets_an_administrator_manage_everyones_keys(api_client, administrator, make_user):
    bob = make_user("bob", role=roles.OPERATOR, device=True)
    client = _as(api_client, administrator)
    created = client.post(
        "/api/v1/api-keys/", {"name": "for-bob", "scopes": ["me:read"], "owner": "bob"}, format="json"
    )
    assert created.status_code == 201
    key = ApiKey.objects.get(pk=created.json()["id"])
    assert key.user == bob
    rotated = client.post(f"/api/v1/api-keys/{key.pk}/rotate/")
    assert rotated.status_code == 201 and rotated.json()["key"]
    revoked = client.delete(f"/api/v1/api-keys/{key.pk}/")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"


def test_it_answers_bad_input_for_a_new_key_with_a_clear_error(api_client, make_user):
    client = _as(api_client, make_user("alice", role=roles.OPERATOR, device=True))
    response = client.post("/api/v1/api-keys/", {"name": "", "scopes": ["root"]}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"name", "scopes"}
    assert not ApiKey.objects.exists()


def test_it_does_not_authenticate_a_session_that_has_not_passed_mfa(client, make_user):
    user = make_user("half", role=roles.OPERATOR, device=True)
    client.force_login(user)
    assert client.get("/api/v1/me").status_code in (401, 403)


def test_it_authenticates_a_verified_session(verified_client, make_user):
    client = verified_client(make_user("whole", role=roles.OPERATOR, device=True))
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["roles"] == [roles.OPERATOR]


def test_it_needs_a_login_for_the_api_docs(client):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert client.get("/api/v1/schema/").status_code in (401, 403)


def test_it_serves_the_api_docs_and_schema_to_signed_in_staff_without_a_cdn(verified_client, make_user):
    client = verified_client(make_user("whole", role=roles.OPERATOR, device=True))
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn." not in html and "unpkg" not in html
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/api-keys/" in schema.content.decode()


def test_it_answers_an_unknown_api_path_with_a_404_in_the_error_shape(api_client, administrator):
    response = _as(api_client, administrator).get("/api/v1/api-keys/1.5/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_it_describes_every_operations_errors_in_the_error_shape(verified_client, make_user):
    client = verified_client(make_user("ada", role=roles.ADMINISTRATOR, device=True))
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    error = {"$ref": "#/components/schemas/Error"}
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]
    operations = [op for item in schema["paths"].values() for op in item.values()]
    assert operations
    assert all(op["responses"]["401"]["content"]["application/json"]["schema"] == error for op in operations)
    test_messages = schema["paths"]["/api/v1/test-messages"]["post"]["responses"]
    assert {"404", "409", "502"} <= set(test_messages)
    assert test_messages["409"]["content"]["application/json"]["schema"] == error


def test_it_describes_the_token_pair_the_token_endpoint_answers(verified_client, make_user):
    client = verified_client(make_user("ada", role=roles.ADMINISTRATOR, device=True))
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    answer = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]["200"]["content"]["application/json"]
    component = schema["components"]["schemas"][answer["schema"]["$ref"].rsplit("/", 1)[1]]
    assert set(component["properties"]) == {"access", "refresh"}
