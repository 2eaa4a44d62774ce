"""The rich-menu admin through the test client, with its sync tasks run against the LINE double."""

import io
import json
import os

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from PIL import Image

from accounts import roles
from accounts.models import AuditEvent
from richmessages.richmenu_models import RichMenu, RichMenuAlias, RichMenuUserLink
from richmessages.richmenu_sync import richmenu_sync
from tests.security.inline_code import inline_code

from .conftest import HELP_AREA, SWITCH_AREA, image_bytes, upload

pytestmark = pytest.mark.django_db

ADD = "admin:richmessages_richmenu_add"
CHANGELIST = "admin:richmessages_richmenu_changelist"


@pytest.fixture
def staff(django_user_model, verified_client):
    def sign_in(role=roles.CONTENT_EDITOR):
        user = django_user_model.objects.create_user(role.replace(" ", "-"), password="a-long-password-123")
        user.is_staff = True
        user.save()
        user.groups.add(Group.objects.get(name=role))
        return verified_client(user)

    return sign_in


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """Posts like a browser without JavaScript, then runs what the request queued (tasks run eagerly)."""

    def send(client, url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return send


def form(menu=None, *, image=None, areas=None, aliases=(), **fields):
    data = {
        "name": "Main",
        "chat_bar_text": "Menu",
        "selected": "on",
        "active": "on",
        "areas": json.dumps([HELP_AREA, SWITCH_AREA] if areas is None else areas),
        "aliases-TOTAL_FORMS": 0,
        "aliases-INITIAL_FORMS": 0,
        "deployments-TOTAL_FORMS": menu.deployments.count() if menu else 0,
        "deployments-INITIAL_FORMS": menu.deployments.count() if menu else 0,
        **fields,
    }
    if menu is not None:
        for index, deployment in enumerate(menu.deployments.all()):
            data[f"deployments-{index}-id"] = deployment.pk
            data[f"deployments-{index}-menu"] = menu.pk
    existing = list(menu.aliases.all()) if menu else []
    rows = [(alias.pk, alias.alias_id, False) for alias in existing] + [(None, name, False) for name in aliases]
    for index, (pk, alias_id, _) in enumerate(rows):
        data[f"aliases-{index}-alias_id"] = alias_id
        if pk:
            data[f"aliases-{index}-id"] = pk
            data[f"aliases-{index}-menu"] = menu.pk
    data["aliases-TOTAL_FORMS"] = len(rows)
    data["aliases-INITIAL_FORMS"] = len(existing)
    if image is not None:
        data["image"] = image
    return {key: value for key, value in data.items() if value is not None}


def stored_images(settings):
    folder = settings.MEDIA_ROOT / "rich" / "menus"
    return sorted(os.listdir(folder)) if folder.exists() else []


def errors(response):
    return {name: list(errs) for name, errs in response.context["adminform"].form.errors.items()}


def test_it_lets_a_content_editor_add_a_menu_that_reaches_line(staff, post, line_settings, settings):
    line = line_settings
    client = staff()

    response = post(client, reverse(ADD), form(image=upload(image_bytes()), aliases=["more-menu"], is_default="on"))

    assert response.status_code == 302, errors(response)
    menu = RichMenu.objects.get()
    assert (menu.image_width, menu.image_height, menu.image_content_type) == (2500, 843, "image/png")
    assert stored_images(settings) == [f"{menu.image_sha256}.png"]
    live = menu.live_deployment.line_rich_menu_id
    assert list(line.double.state.rich_menus) == [live]
    assert line.double.state.default_menu == live
    assert line.double.state.aliases == {"more-menu": live}
    assert AuditEvent.objects.filter(action=AuditEvent.Action.ADMIN_ADD, actor__username="Content-editor").exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RICH_MENU_SYNCED).count() == 1


def noisy_png(width=800, height=500) -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"GIF89a" + image_bytes(900, 300, fmt="GIF")[6:], "menu.gif", "only JPEG, PNG images are accepted"),
        (b"this is not an image at all", "menu.png", "not an image we can read"),
        (image_bytes(1000, 800), "menu.png", "a width at least 1.45 times the height"),
        (image_bytes(700, 300), "menu.png", "700 pixels wide; LINE needs 800 to 2500"),
        (image_bytes(2600, 1000), "menu.png", "2600 pixels wide"),
        (image_bytes(1200, 200), "menu.png", "200 pixels high; LINE needs at least 250"),
        (noisy_png(), "menu.png", "LINE takes at most 1048576"),
    ],
    ids=["gif", "not-an-image", "aspect-ratio", "too-narrow", "too-wide", "too-low", "over-1mb"],
)
def test_it_refuses_an_image_line_would_refuse_and_stores_nothing(staff, post, settings, data, name, message):
    response = post(staff(), reverse(ADD), form(image=upload(data, name=name)))

    assert response.status_code == 200
    problems = errors(response)
    assert list(problems) == ["image"]
    assert message in " ".join(problems["image"])
    assert not RichMenu.objects.exists()
    assert stored_images(settings) == []


def test_it_refuses_tap_areas_with_clear_errors(staff, post):
    outside = {**HELP_AREA, "x": 2000, "width": 1000}
    unknown_action = {**SWITCH_AREA, "action": {"type": "postback", "data": "action=no-such-thing"}}

    response = post(staff(), reverse(ADD), form(image=upload(image_bytes()), areas=[outside, unknown_action]))

    problems = errors(response)["areas"]
    assert problems == [
        "Area 1 (help): x + width (3000) is past the image's width (2500).",
        "Area 2 (more): action.data names the action 'no-such-thing', which the bot does not answer "
        "(known: help, lang, optin, optout, reset, rich).",
    ]
    assert not RichMenu.objects.exists()


def test_it_refuses_areas_that_are_not_json(staff, post):
    response = post(staff(), reverse(ADD), {**form(image=upload(image_bytes())), "areas": "[{'name': 1"})

    assert "areas" in errors(response)
    assert not RichMenu.objects.exists()


def test_it_refuses_a_chat_bar_text_over_14_characters(staff, post):
    response = post(staff(), reverse(ADD), form(image=upload(image_bytes()), chat_bar_text="メニュー" * 4))

    assert list(errors(response)) == ["chat_bar_text"]


def test_it_keeps_the_image_when_a_change_brings_none(staff, post, line_settings, make_menu):
    menu = make_menu()
    client = staff(roles.OPERATOR)

    response = post(client, reverse("admin:richmessages_richmenu_change", args=[menu.pk]), form(menu, name="Renamed"))

    assert response.status_code == 302, errors(response)
    menu.refresh_from_db()
    assert menu.name == "Renamed" and menu.image_width == 2500


def test_it_takes_the_default_flag_from_the_other_menu_when_making_one_the_default(
    staff, post, line_settings, make_menu
):
    first = make_menu("First", is_default=True)
    second = make_menu("Second", color=(1, 2, 3))

    response = post(
        staff(), reverse("admin:richmessages_richmenu_change", args=[second.pk]), form(second, is_default="on")
    )

    assert response.status_code == 302, errors(response)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)
    assert line_settings.double.state.default_menu == second.live_deployment.line_rich_menu_id


def test_it_refuses_an_analyst_changing_rich_menus(staff, post, make_menu):
    menu = make_menu()

    response = post(
        staff(roles.ANALYST), reverse("admin:richmessages_richmenu_change", args=[menu.pk]), form(menu, name="X")
    )

    assert response.status_code == 403
    menu.refresh_from_db()
    assert menu.name == "Main"


def test_it_serves_editor_pages_that_need_no_inline_code_and_carry_the_editor(staff, make_menu):
    menu = make_menu()
    client = staff()

    for url in (reverse(ADD), reverse("admin:richmessages_richmenu_change", args=[menu.pk])):
        html = client.get(url).content.decode()
        assert inline_code(html) == []
        assert "richmessages/richmenu_editor.js" in html
    change = client.get(reverse("admin:richmessages_richmenu_change", args=[menu.pk])).content.decode()
    assert f'data-image-url="/admin/richmessages/richmenu/{menu.pk}/image/"' in change


def test_it_serves_the_image_to_staff_only(staff, client, make_menu):
    menu = make_menu()
    url = reverse("admin:richmessages_richmenu_image", args=[menu.pk])

    response = staff(roles.OPERATOR).get(url)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == menu.image.open("rb").read()


def link(client, post, menu, **fields):
    data = {"action": "link_users", "_selected_action": [menu.pk], "link": "Link", **fields}
    return post(client, reverse(CHANGELIST), data)


def test_it_links_a_segment_of_1200_users_in_three_calls(staff, post, line_settings, make_menu, make_line_users):
    line = line_settings
    menu = make_menu()
    richmenu_sync(menu_id=menu.pk)
    make_line_users(1200, language="th")
    make_line_users(5, language="en", start=9000)

    response = link(staff(), post, menu, segment="active", language="th")

    assert response.status_code == 302
    sizes = [len(entry["body"]["userIds"]) for entry in line.control.requests(endpoint="linkRichMenuIdToUsers")]
    assert sizes == [500, 500, 200]
    assert RichMenuUserLink.objects.filter(menu=menu).count() == 1200
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RICH_MENU_USERS_LINKED).get().details["count"] == 1200


def test_it_links_pasted_user_ids(staff, post, line_settings, make_menu, make_line_users):
    menu = make_menu()
    users = make_line_users(3)

    link(staff(), post, menu, line_user_ids="\n".join(user.line_user_id for user in users))

    live = menu.live_deployment.line_rich_menu_id
    assert line_settings.double.state.user_menus == {user.line_user_id: live for user in users}


def test_it_links_nobody_when_an_id_is_unknown(staff, post, make_menu, make_line_users):
    menu = make_menu()
    [known] = make_line_users(1)
    unknown = "U" + "f" * 32

    response = link(staff(), post, menu, line_user_ids=f"{known.line_user_id}, {unknown}")

    assert response.status_code == 200
    assert f"No LINE user is known by these ids: {unknown}" in response.content.decode()
    assert not RichMenuUserLink.objects.exists()


def test_it_refuses_malformed_user_ids(staff, post, make_menu):
    response = link(staff(), post, make_menu(), line_user_ids="alice")

    assert "These are not LINE user ids" in response.content.decode()
    assert not RichMenuUserLink.objects.exists()


def test_it_tells_line_when_unlinking_users(staff, post, line_settings, make_menu, make_line_users):
    menu = make_menu()
    users = make_line_users(2)
    client = staff(roles.OPERATOR)
    link(client, post, menu, line_user_ids=" ".join(user.line_user_id for user in users))
    selected = list(RichMenuUserLink.objects.values_list("pk", flat=True))

    post(
        client,
        reverse("admin:richmessages_richmenuuserlink_changelist"),
        {"action": "unlink", "_selected_action": selected},
    )

    assert line_settings.double.state.user_menus == {}
    assert not RichMenuUserLink.objects.exists()


def test_it_deletes_an_alias_on_line_when_deleting_it(staff, post, line_settings, make_menu):
    menu = make_menu()
    RichMenuAlias.objects.create(alias_id="more-menu", menu=menu)
    richmenu_sync(menu_id=menu.pk)
    data = form(menu)
    data["aliases-0-DELETE"] = "on"

    response = post(staff(), reverse("admin:richmessages_richmenu_change", args=[menu.pk]), data)

    assert response.status_code == 302, errors(response)
    assert line_settings.double.state.aliases == {}


def test_it_deletes_a_menu_on_line_only_once_taken_off(staff, post, line_settings, make_menu):
    menu = make_menu()
    richmenu_sync(menu_id=menu.pk)
    client = staff()
    delete_url = reverse("admin:richmessages_richmenu_delete", args=[menu.pk])

    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    post(client, reverse("admin:richmessages_richmenu_change", args=[menu.pk]), form(menu, active=None))
    assert line_settings.double.state.rich_menus == {}
    assert client.post(delete_url, {"post": "yes"}).status_code == 302
    assert not RichMenu.objects.exists()
