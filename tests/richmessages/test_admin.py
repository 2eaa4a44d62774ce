import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AuditEvent
from richmessages import services
from richmessages.models import RichTemplate, RichTemplateVersion
from tests.richmessages.conftest import image_bytes, stored_files, upload

pytestmark = pytest.mark.django_db

TEMPLATES = "/admin/richmessages/richtemplate/"
VERSIONS = "/admin/richmessages/richtemplateversion/"


def signed_in(user) -> Client:
    client = Client()
    device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def form_data(**overrides):
    data = {"name": "Morning run", "title_max_chars": "40", "body_max_chars": "160", "image": upload()}
    data.update(overrides)
    return data


def a_draft(author, **kwargs):
    return services.rich_template_create(name="Morning run", image=upload(), author=author, **kwargs).versions.get()


def test_it_lets_an_editor_upload_a_template_through_the_form(editor, media_root):
    client = signed_in(editor)
    page = client.get(f"{TEMPLATES}add/")
    assert page.status_code == 200
    assert 'name="title_x"' in page.content.decode() and 'name="copy_th_title"' in page.content.decode()

    response = client.post(
        f"{TEMPLATES}add/",
        form_data(
            theme="motivation",
            best_for="work, study",
            buttons=["like", "share"],
            title_x="10",
            title_y="10",
            title_width="300",
            title_height="80",
            copy_th_title="สวัสดี",
        ),
    )

    version = RichTemplateVersion.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{VERSIONS}{version.pk}/change/"
    assert (version.theme, version.best_for, version.buttons) == ("motivation", ["work", "study"], ["like", "share"])
    assert (version.title_area["x"], version.title_area["width"]) == (10, 300)
    assert version.curated_copy == {"th": {"title": "สวัสดี"}}
    assert (version.author, version.status) == (editor, "draft")
    assert len(stored_files(media_root)) == 1


def test_it_shows_a_bad_uploads_error_on_its_field_and_stores_nothing(editor, media_root):
    response = signed_in(editor).post(f"{TEMPLATES}add/", form_data(image=upload("x.png", data=image_bytes("GIF"))))

    assert response.status_code == 200
    assert "only JPEG, PNG images are accepted" in str(response.context["adminform"].form.errors["image"])
    assert stored_files(media_root) == []
    assert not RichTemplate.objects.exists()


def test_it_shows_a_text_box_outside_the_image_above_the_form(editor, media_root):
    data = form_data(title_x="500", title_y="0", title_width="400", title_height="50")

    response = signed_in(editor).post(f"{TEMPLATES}add/", data)

    errors = response.context["adminform"].form.non_field_errors()
    assert any(
        error.startswith("Title area") and "right edge (500 + 400 = 900) lies outside" in error for error in errors
    )
    assert stored_files(media_root) == []


def test_it_refuses_an_operator_uploading(operator):
    assert signed_in(operator).get(f"{TEMPLATES}add/").status_code == 403


def test_it_shows_thumbnails_of_the_background_in_lists(editor):
    version = a_draft(editor)
    client = signed_in(editor)

    for url in (TEMPLATES, VERSIONS, f"{TEMPLATES}{version.template_id}/change/"):
        body = client.get(url).content.decode()
        assert f'<img src="/media/{version.background.name}"' in body, url


def test_it_edits_a_draft_through_its_form(editor):
    version = a_draft(editor, metadata={"curated_copy": {"ko": {"title": "안녕"}}})
    client = signed_in(editor)
    page = client.get(f"{VERSIONS}{version.pk}/change/")
    assert 'id="rich-preview"' in page.content.decode()
    data = {key: value for key, value in page.context["adminform"].form.initial.items() if value not in (None, [])}
    data.update(mood="calm", buttons=["more"])

    response = client.post(f"{VERSIONS}{version.pk}/change/", data)

    assert response.status_code == 302
    version.refresh_from_db()
    assert (version.mood, version.buttons, version.number) == ("calm", ["more"], 1)
    # A language the form does not show is kept.
    assert version.curated_copy == {"ko": {"title": "안녕"}}


def test_it_keeps_an_approved_version_read_only_and_edits_it_as_a_new_draft(editor, operator):
    version = services.rich_template_approve(version=a_draft(editor), approver=operator)
    client = signed_in(editor)

    page = client.get(f"{VERSIONS}{version.pk}/change/")
    body = page.content.decode()
    assert 'name="mood"' not in body
    assert "Edit as a new draft" in body
    assert client.post(f"{VERSIONS}{version.pk}/change/", {"mood": "x"}).status_code == 403

    response = client.post(f"{VERSIONS}{version.pk}/new-draft/")

    draft = RichTemplateVersion.objects.get(number=2)
    assert response["Location"] == f"{VERSIONS}{draft.pk}/change/"
    assert (draft.status, draft.author) == ("draft", editor)
    assert RichTemplateVersion.objects.get(number=1).status == "approved"


def test_it_lets_an_operator_approve_a_draft_with_the_button(editor, operator):
    version = a_draft(editor)
    client = signed_in(operator)
    assert "Approve this version" in client.get(f"{VERSIONS}{version.pk}/change/").content.decode()

    response = client.post(f"{VERSIONS}{version.pk}/approve/")

    assert response.status_code == 302
    version.refresh_from_db()
    assert (version.status, version.approved_by) == ("approved", operator)


def test_it_gives_the_author_no_approve_button_and_refuses_them(administrator):
    version = a_draft(administrator)
    client = signed_in(administrator)
    page = client.get(f"{VERSIONS}{version.pk}/change/").content.decode()
    assert "Approve this version" not in page
    assert "someone else must approve it" in page

    response = client.post(f"{VERSIONS}{version.pk}/approve/", follow=True)

    assert "someone else must approve it" in response.content.decode()
    version.refresh_from_db()
    assert version.status == "draft"


def test_it_refuses_an_editor_approving_through_the_console(editor, second_editor):
    version = a_draft(editor)

    signed_in(second_editor).post(f"{VERSIONS}{version.pk}/approve/")

    version.refresh_from_db()
    assert version.status == "draft"


def test_it_honours_four_eyes_in_the_approve_action(editor, administrator):
    mine = a_draft(administrator)
    theirs = services.rich_template_create(name="Theirs", image=upload(color=(1, 1, 1)), author=editor).versions.get()

    response = signed_in(administrator).post(
        VERSIONS, {"action": "approve_selected", "_selected_action": [mine.pk, theirs.pk]}, follow=True
    )

    assert dict(RichTemplateVersion.objects.values_list("pk", "status")) == {mine.pk: "draft", theirs.pk: "approved"}
    assert "someone else must approve it" in response.content.decode()


def test_it_does_not_offer_the_approve_action_to_editors(editor):
    a_draft(editor)

    page = signed_in(editor).get(VERSIONS)

    assert page.status_code == 200
    assert 'value="approve_selected"' not in page.content.decode()


def test_it_lets_an_operator_archive_templates_with_the_action(editor, operator):
    version = a_draft(editor)

    signed_in(operator).post(TEMPLATES, {"action": "archive_templates", "_selected_action": [version.template_id]})

    version.refresh_from_db()
    assert version.status == "archived"
    assert RichTemplate.objects.get().archived_at is not None
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RICH_TEMPLATE_ARCHIVED).count() == 1


def test_it_approves_the_newest_draft_of_a_template_from_the_template_list(editor, operator):
    version = a_draft(editor)

    signed_in(operator).post(TEMPLATES, {"action": "approve_newest_drafts", "_selected_action": [version.template_id]})

    version.refresh_from_db()
    assert version.status == "approved"


def test_it_shows_an_analyst_nothing_of_the_library(editor, analyst):
    version = a_draft(editor)
    client = signed_in(analyst)

    assert client.get(TEMPLATES).status_code == 403
    assert client.get(f"{VERSIONS}{version.pk}/change/").status_code == 403
    assert client.post(f"{VERSIONS}{version.pk}/approve/").status_code == 403


def test_it_filters_templates_by_use(editor):
    archived = a_draft(editor).template
    services.rich_template_archive(template=archived, actor=editor)
    services.rich_template_create(name="Evening", image=upload(color=(3, 3, 3)), author=editor)
    client = signed_in(editor)

    assert [t.name for t in client.get(TEMPLATES, {"archived": "no"}).context["cl"].result_list] == ["Evening"]
    assert [t.name for t in client.get(TEMPLATES, {"archived": "yes"}).context["cl"].result_list] == ["Morning run"]


def test_it_answers_404_for_approving_a_version_that_does_not_exist(operator):
    assert signed_in(operator).post(f"{VERSIONS}999999/approve/").status_code == 404
