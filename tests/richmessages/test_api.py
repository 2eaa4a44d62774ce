import json

import pytest
from rest_framework.test import APIClient

from accounts import api_keys
from accounts.models import AuditEvent
from richmessages import services
from richmessages.models import RichTemplate, RichTemplateVersion
from tests.richmessages.conftest import image_bytes, stored_files, upload

pytestmark = pytest.mark.django_db

URL = "/api/v1/rich-templates/"


def client_for(user):
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def key_client(user, *scopes):
    issued = api_keys.api_key_create(user=user, name="ci", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {issued.plaintext}")
    return client


def post_template(client, **fields):
    data = {"name": "Morning run", "image": upload(), **fields}
    return client.post(URL, data, format="multipart")


def test_it_lets_an_editor_upload_a_template(editor):
    metadata = {
        "theme": "motivation",
        "time_of_day": ["morning"],
        "text_areas": {
            "primary": {"x": 10, "y": 10, "width": 500, "height": 100},
            "secondary": {"x": 10, "y": 200, "width": 500, "height": 100},
        },
    }

    response = post_template(client_for(editor), metadata=json.dumps(metadata))

    assert response.status_code == 201, response.json()
    body = response.json()
    version = RichTemplateVersion.objects.get()
    assert body["id"] == version.template_id
    assert (body["status"], body["version"], body["slug"], body["approved_version"]) == (
        "draft",
        1,
        "morning-run",
        None,
    )
    assert body["image_url"] == f"https://bot.example.com/media/{version.background.name}"
    assert (body["theme"], body["times_of_day"], body["title_area"]["y"]) == ("motivation", ["morning"], 10)
    assert body["author"] == "editor"


def test_it_accepts_our_field_names_too_in_an_upload(editor):
    metadata = {"mood": "calm", "buttons": ["more", "share"], "curated_copy": {"ja": {"title": "おはよう"}}}

    body = post_template(client_for(editor), metadata=json.dumps(metadata), slug="calm-morning").json()

    assert (body["slug"], body["mood"], body["buttons"]) == ("calm-morning", "calm", ["more", "share"])
    assert body["curated_copy"] == {"ja": {"title": "おはよう"}}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"image": upload("a.png", data=image_bytes("GIF"))}, "image"),
        ({"image": upload("a.png", data=b"%PDF-1.4 not an image")}, "image"),
        ({"image": upload(size=(100, 100))}, "image"),
        ({"metadata": "{not json"}, "metadata"),
        ({"metadata": json.dumps({"title_area": {"x": 0, "y": 0, "width": 9999, "height": 10}})}, "title_area"),
        ({"metadata": json.dumps({"line_height": float("nan")})}, "metadata"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"name": ""}, "name"),
    ],
)
def test_it_answers_400_naming_the_field_for_a_bad_upload_and_stores_nothing(editor, media_root, fields, field):
    response = post_template(client_for(editor), **fields)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["details"]
    assert stored_files(media_root) == []
    assert RichTemplate.objects.count() == 0


def test_it_answers_400_for_an_upload_without_an_image(editor):
    response = client_for(editor).post(URL, {"name": "x"}, format="multipart")

    assert response.status_code == 400
    assert "image" in response.json()["error"]["details"]


def test_it_needs_an_upload_to_be_multipart(editor):
    response = client_for(editor).post(URL, {"name": "x"}, format="json")

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_it_refuses_an_operator_uploading(operator, media_root):
    response = post_template(client_for(operator))

    assert response.status_code == 403
    assert stored_files(media_root) == []


def test_it_lists_and_reads_templates(editor, analyst, operator):
    first = services.rich_template_create(name="B", image=upload(), author=editor)
    services.rich_template_create(name="A", image=upload(color=(1, 1, 1)), author=editor)
    client = client_for(operator)

    listed = client.get(URL).json()
    one = client.get(f"{URL}{first.pk}").json()

    assert [t["name"] for t in listed["results"]] == ["A", "B"]
    assert listed["count"] == 2
    assert (one["id"], one["name"], one["status"]) == (first.pk, "B", "draft")
    assert client.get(f"{URL}999999").status_code == 404
    assert client.get(f"{URL}99999999999999999999999").status_code == 404
    assert client.get(f"{URL}abc").status_code == 404


def test_it_refuses_an_analyst_reading_the_library(analyst):
    response = client_for(analyst).get(URL)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_it_lets_an_operator_approve_and_shows_the_newest_version(editor, operator):
    template = services.rich_template_create(name="B", image=upload(), author=editor)

    response = client_for(operator).post(f"{URL}{template.pk}/approve", format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["approved_version"], body["approved_by"]) == ("approved", 1, "operator")


def test_it_lets_a_version_number_be_named(editor, operator, administrator):
    template = services.rich_template_create(name="B", image=upload(), author=editor)
    services.rich_template_approve(version=template.versions.get(), approver=operator)
    services.rich_template_version_update(version=template.versions.get(), changes={"mood": "x"}, actor=editor)
    client = client_for(administrator)

    assert client.post(f"{URL}{template.pk}/approve", {"version": 1}, format="json").status_code == 409
    assert client.post(f"{URL}{template.pk}/approve", {"version": 7}, format="json").status_code == 404
    response = client.post(f"{URL}{template.pk}/approve/", {"version": 2}, format="json")
    assert response.json()["approved_version"] == 2


def test_it_answers_403_in_the_error_shape_for_approving_ones_own_version(administrator):
    template = services.rich_template_create(name="Mine", image=upload(), author=administrator)

    response = client_for(administrator).post(f"{URL}{template.pk}/approve", format="json")

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "permission_denied"
    assert "someone else" in error["message"]
    assert RichTemplateVersion.objects.get().status == "draft"


def test_it_refuses_an_editor_approving(editor, second_editor):
    template = services.rich_template_create(name="B", image=upload(), author=editor)

    assert client_for(second_editor).post(f"{URL}{template.pk}/approve", format="json").status_code == 403


def test_it_answers_400_for_a_bad_approval_body(editor, operator):
    template = services.rich_template_create(name="B", image=upload(), author=editor)

    response = client_for(operator).post(f"{URL}{template.pk}/approve", {"version": "two"}, format="json")

    assert response.status_code == 400
    assert "version" in response.json()["error"]["details"]


def test_it_needs_the_read_and_write_scopes_on_api_keys(editor):
    reader = key_client(editor, "richmessages:read")
    writer = key_client(editor, "richmessages:write")

    assert reader.get(URL).status_code == 200
    assert post_template(reader).status_code == 403
    assert writer.get(URL).status_code == 403
    assert post_template(writer).status_code == 201


def test_it_audits_an_upload(editor):
    post_template(client_for(editor))

    assert AuditEvent.objects.get(action=AuditEvent.Action.RICH_TEMPLATE_CREATED).actor == editor


def test_it_describes_the_upload_and_error_responses_in_the_schema(administrator):
    schema = client_for(administrator).get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    create = schema["paths"]["/api/v1/rich-templates/"]["post"]
    upload_schema = create["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert upload_schema["$ref"].endswith("/RichTemplateCreateInputRequest")
    fields = schema["components"]["schemas"]["RichTemplateCreateInputRequest"]["properties"]
    assert fields["image"]["format"] == "binary"
    assert "text_areas.primary" in fields["metadata"]["description"]
    approve = schema["paths"]["/api/v1/rich-templates/{id}/approve/"]["post"]
    assert approve["responses"]["403"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
