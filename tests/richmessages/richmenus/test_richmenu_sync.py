"""Rich menus synced to the LINE double through the real SDK: steps, reruns after failures, moves, bulk links."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from core.errors import LineApiError
from richmessages.richmenu_images import richmenu_image_check
from richmessages.richmenu_links import richmenu_unlinks_sync, richmenu_users_link, richmenu_users_unlink
from richmessages.richmenu_models import RichMenu, RichMenuAlias, RichMenuUserLink
from richmessages.richmenu_services import richmenu_save
from richmessages.richmenu_sync import SyncBusyError, richmenu_sync

from .conftest import HELP_AREA, image_bytes, upload

pytestmark = pytest.mark.django_db


def state(line):
    return line.double.state


def calls(line, endpoint):
    return line.control.requests(endpoint=endpoint)


def link_all(menu, users):
    richmenu_users_link(menu=menu, line_user_ids=[user.line_user_id for user in users])


def test_it_puts_a_menu_on_line_with_its_image_alias_default_and_links(line_settings, make_menu, make_line_users):
    line = line_settings
    menu = make_menu(is_default=True)
    RichMenuAlias.objects.create(alias_id="more-menu", menu=menu)
    users = make_line_users(3)
    link_all(menu, users)

    report = richmenu_sync(menu_id=menu.pk)

    rich_menu_id = report.line_rich_menu_id
    assert list(state(line).rich_menus) == [rich_menu_id]
    line_menu = state(line).rich_menus[rich_menu_id]
    assert line_menu.image.data == menu.image.open("rb").read()
    assert line_menu.body["chatBarText"] == "Menu"
    assert line_menu.body["areas"][0]["action"]["data"] == f"action=richmenu&m={menu.pk}&a=help"
    assert line_menu.body["areas"][1]["action"]["richMenuAliasId"] == "more-menu"
    assert state(line).default_menu == rich_menu_id
    assert state(line).aliases == {"more-menu": rich_menu_id}
    assert {user.line_user_id: rich_menu_id for user in users} == state(line).user_menus
    # The image went to the data API's path, the rest to the API's.
    assert calls(line, "setRichMenuImage")[0]["path"] == f"/v2/bot/richmenu/{rich_menu_id}/content"


def test_it_does_nothing_more_when_run_again(line_settings, make_menu, make_line_users):
    line = line_settings
    menu = make_menu(is_default=True)
    link_all(menu, make_line_users(2))
    richmenu_sync(menu_id=menu.pk)
    line.control.clear_requests()

    report = richmenu_sync(menu_id=menu.pk)

    assert report.steps == []
    assert line.control.requests() == []


def test_it_makes_one_line_menu_when_a_sync_is_rerun_after_create_failed(line_settings, make_menu):
    line = line_settings
    menu = make_menu()
    line.control.set_faults(errors=[{"endpoint": "createRichMenu", "status": 500, "rate": 1.0}])

    with pytest.raises(LineApiError):
        richmenu_sync(menu_id=menu.pk)
    line.control.clear_faults()
    richmenu_sync(menu_id=menu.pk)

    assert len(state(line).rich_menus) == 1
    statuses = [entry["status"] for entry in calls(line, "createRichMenu")]
    assert statuses[-1] == 200 and set(statuses[:-1]) == {500}
    assert menu.deployments.get().line_rich_menu_id == next(iter(state(line).rich_menus))


def test_it_finds_the_menu_whose_creation_answer_was_lost_instead_of_making_another(line_settings, make_menu):
    line = line_settings
    menu = make_menu()
    line.control.set_faults(lost_responses=[{"endpoint": "createRichMenu"}])

    report = richmenu_sync(menu_id=menu.pk)

    assert list(state(line).rich_menus) == [report.line_rich_menu_id]
    assert len(calls(line, "createRichMenu")) == 1
    assert state(line).rich_menus[report.line_rich_menu_id].image is not None


def test_it_finds_a_lost_creation_on_the_next_run_after_giving_up(line_settings, make_menu, settings):
    line = line_settings
    settings.LINE_API_ATTEMPTS = 1
    menu = make_menu()
    line.control.set_faults(lost_responses=[{"endpoint": "createRichMenu"}])

    with pytest.raises(LineApiError):
        richmenu_sync(menu_id=menu.pk)
    assert len(state(line).rich_menus) == 1  # LINE made it; we never heard
    line.control.clear_faults()
    report = richmenu_sync(menu_id=menu.pk)

    assert list(state(line).rich_menus) == [report.line_rich_menu_id]
    assert len(calls(line, "createRichMenu")) == 1
    assert "created" in report.steps


def test_it_continues_from_the_image_when_only_the_upload_failed(line_settings, make_menu):
    line = line_settings
    menu = make_menu()
    line.control.set_faults(errors=[{"endpoint": "setRichMenuImage", "status": 503, "rate": 1.0}])

    with pytest.raises(LineApiError):
        richmenu_sync(menu_id=menu.pk)
    line.control.clear_faults()
    report = richmenu_sync(menu_id=menu.pk)

    assert report.steps == ["image_uploaded"]
    assert len(calls(line, "createRichMenu")) == 1
    assert len(state(line).rich_menus) == 1


def test_it_takes_an_image_whose_upload_answer_was_lost_as_uploaded(line_settings, make_menu):
    line = line_settings
    menu = make_menu()
    line.control.set_faults(lost_responses=[{"endpoint": "setRichMenuImage", "count": 1}])

    report = richmenu_sync(menu_id=menu.pk)

    assert "image_uploaded" in report.steps
    # The retry was refused (LINE has the image already), and the image LINE has is checked instead.
    assert [entry["status"] for entry in calls(line, "setRichMenuImage")] == [200, 400]
    assert len(calls(line, "getRichMenuImage")) == 1


def test_it_moves_default_links_and_aliases_to_a_new_line_menu_when_the_image_changes(
    line_settings, make_menu, make_line_users
):
    line = line_settings
    menu = make_menu(is_default=True)
    RichMenuAlias.objects.create(alias_id="more-menu", menu=menu)
    users = make_line_users(3)
    link_all(menu, users)
    old = richmenu_sync(menu_id=menu.pk).line_rich_menu_id
    line.control.clear_requests()

    richmenu_save(menu=menu, image=richmenu_image_check(upload(image_bytes(color=(200, 30, 30)))))
    new = richmenu_sync(menu_id=menu.pk).line_rich_menu_id

    assert new != old
    assert list(state(line).rich_menus) == [new]
    assert state(line).default_menu == new
    assert state(line).aliases == {"more-menu": new}
    assert set(state(line).user_menus.values()) == {new}
    # Everything moved before the old menu went.
    assert [entry["endpoint"] for entry in line.control.requests()] == [
        "validateRichMenuObject",
        "createRichMenu",
        "setRichMenuImage",
        "updateRichMenuAlias",
        "setDefaultRichMenu",
        "linkRichMenuIdToUsers",
        "deleteRichMenu",
    ]
    assert menu.deployments.filter(deleted_on_line_at__isnull=False).get().line_rich_menu_id == old


def test_it_makes_a_new_line_menu_when_the_areas_change_but_not_when_only_the_name_does(line_settings, make_menu):
    line = line_settings
    menu = make_menu()
    first = richmenu_sync(menu_id=menu.pk).line_rich_menu_id

    menu.name = "Renamed"
    richmenu_save(menu=menu, image=None)
    assert richmenu_sync(menu_id=menu.pk).line_rich_menu_id == first
    menu.areas = menu.areas[:1]
    richmenu_save(menu=menu, image=None)
    second = richmenu_sync(menu_id=menu.pk).line_rich_menu_id

    assert second != first
    assert list(state(line).rich_menus) == [second]


def test_it_links_1200_users_in_three_calls_of_at_most_500(line_settings, make_menu, make_line_users):
    line = line_settings
    menu = make_menu()
    users = make_line_users(1200)
    link_all(menu, users)

    report = richmenu_sync(menu_id=menu.pk)

    sizes = [len(entry["body"]["userIds"]) for entry in calls(line, "linkRichMenuIdToUsers")]
    assert sizes == [500, 500, 200]
    assert report.link_calls == 3
    assert len(state(line).user_menus) == 1200
    assert not RichMenuUserLink.objects.exclude(line_rich_menu_id=report.line_rich_menu_id).exists()


def test_it_links_and_unlinks_a_single_user_at_once(line_settings, make_menu, make_line_users):
    line = line_settings
    menu = make_menu()
    [user] = make_line_users(1)
    link_all(menu, [user])

    richmenu_sync(menu_id=menu.pk)
    assert state(line).user_menus == {user.line_user_id: menu.live_deployment.line_rich_menu_id}
    richmenu_users_unlink(line_user_ids=[user.line_user_id])
    richmenu_unlinks_sync()

    assert [entry["path"] for entry in calls(line, "linkRichMenuIdToUser")] == [
        f"/v2/bot/user/{user.line_user_id}/richmenu/{menu.live_deployment.line_rich_menu_id}"
    ]
    assert len(calls(line, "unlinkRichMenuIdFromUser")) == 1
    assert state(line).user_menus == {}


def test_it_links_only_the_users_a_failed_run_left_behind(line_settings, make_menu, make_line_users, settings):
    line = line_settings
    settings.LINE_API_ATTEMPTS = 1
    menu = make_menu()
    link_all(menu, make_line_users(700))
    richmenu_sync(menu_id=menu.pk)
    line.control.clear_requests()
    # 300 more, then a LINE outage on the first bulk call of the next run.
    link_all(menu, make_line_users(300, start=5000))
    line.control.set_faults(errors=[{"endpoint": "linkRichMenuIdToUsers", "status": 500, "rate": 1.0}])
    with pytest.raises(LineApiError):
        richmenu_sync(menu_id=menu.pk)
    line.control.clear_faults()

    richmenu_sync(menu_id=menu.pk)

    accepted = [entry for entry in calls(line, "linkRichMenuIdToUsers") if entry["status"] == 202]
    assert [len(entry["body"]["userIds"]) for entry in accepted] == [300]
    assert len(state(line).user_menus) == 1000


def test_it_unlinks_users_in_bulk(line_settings, make_menu, make_line_users):
    line = line_settings
    menu = make_menu()
    users = make_line_users(600)
    link_all(menu, users)
    richmenu_sync(menu_id=menu.pk)

    richmenu_users_unlink(line_user_ids=[user.line_user_id for user in users])
    richmenu_unlinks_sync()

    assert [len(entry["body"]["userIds"]) for entry in calls(line, "unlinkRichMenuIdFromUsers")] == [500, 100]
    assert state(line).user_menus == {}
    assert not RichMenuUserLink.objects.exists()


def test_it_takes_an_inactive_menu_off_line(line_settings, make_menu, make_line_users):
    line = line_settings
    menu = make_menu(is_default=True)
    RichMenuAlias.objects.create(alias_id="more-menu", menu=menu)
    link_all(menu, make_line_users(2))
    richmenu_sync(menu_id=menu.pk)

    menu.active = False
    richmenu_save(menu=menu, image=None)
    richmenu_sync(menu_id=menu.pk)

    assert state(line).rich_menus == {}
    assert state(line).default_menu is None
    assert state(line).aliases == {}
    assert state(line).user_menus == {}
    assert not RichMenuAlias.objects.exclude(line_rich_menu_id="").exists()


def test_it_hands_the_default_over_to_the_new_default_menu(line_settings, make_menu):
    line = line_settings
    first = make_menu("First", is_default=True)
    richmenu_sync(menu_id=first.pk)

    second = make_menu("Second", color=(0, 200, 0), is_default=True)
    for menu_id in (first.pk, second.pk):
        richmenu_sync(menu_id=menu_id)

    first.refresh_from_db()
    assert not first.is_default
    assert state(line).default_menu == second.live_deployment.line_rich_menu_id
    assert len(calls(line, "cancelDefaultRichMenu")) == 0


def test_it_reports_what_line_refused_before_making_anything(line_settings, make_menu):
    line = line_settings
    # Over 20 areas: LINE's validation refuses the menu (our admin form would have refused it first).
    menu = make_menu(areas=[{**HELP_AREA, "name": f"a{index}", "width": 100} for index in range(21)])

    with pytest.raises(LineApiError):
        richmenu_sync(menu_id=menu.pk)

    menu.refresh_from_db()
    assert "HTTP 400" in menu.sync_error and "areas" in menu.sync_error
    assert calls(line, "createRichMenu") == []
    assert state(line).rich_menus == {}


def test_it_audits_each_sync_with_its_outcome(line_settings, make_menu, settings):
    line = line_settings
    settings.LINE_API_ATTEMPTS = 1
    menu = make_menu()
    line.control.set_faults(errors=[{"endpoint": "createRichMenu", "status": 500, "rate": 1.0}])
    with pytest.raises(LineApiError):
        richmenu_sync(menu_id=menu.pk)
    line.control.clear_faults()
    richmenu_sync(menu_id=menu.pk)

    outcomes = [
        (event.details["outcome"], event.details["steps"])
        for event in AuditEvent.objects.filter(action=AuditEvent.Action.RICH_MENU_SYNCED).order_by("id")
    ]
    assert outcomes == [("failed", []), ("ok", ["created", "image_uploaded"])]
    menu.refresh_from_db()
    assert menu.sync_error == "" and menu.synced_at is not None


def test_it_refuses_a_second_runner_while_the_first_holds_the_menu(line_settings, make_menu):
    menu = make_menu()
    RichMenu.objects.filter(pk=menu.pk).update(sync_lease_until=timezone.now() + timedelta(minutes=5))

    with pytest.raises(SyncBusyError):
        richmenu_sync(menu_id=menu.pk)
    RichMenu.objects.filter(pk=menu.pk).update(sync_lease_until=timezone.now() - timedelta(seconds=1))
    assert richmenu_sync(menu_id=menu.pk).line_rich_menu_id


def test_it_takes_an_erased_users_menu_away_on_line(
    line_settings, make_menu, make_line_users, admin_user, django_capture_on_commit_callbacks
):
    from conversations.privacy import line_user_erase

    line = line_settings
    menu = make_menu()
    [user, other] = make_line_users(2)
    link_all(menu, [user, other])
    richmenu_sync(menu_id=menu.pk)
    line_user_id = user.line_user_id

    with django_capture_on_commit_callbacks(execute=True):
        line_user_erase(line_user=user, actor=admin_user)

    assert [entry["path"] for entry in calls(line, "unlinkRichMenuIdFromUser")] == [
        f"/v2/bot/user/{line_user_id}/richmenu"
    ]
    assert set(state(line).user_menus) == {other.line_user_id}
    assert not RichMenuUserLink.objects.filter(line_user__line_user_id=line_user_id).exists()
