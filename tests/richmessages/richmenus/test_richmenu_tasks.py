"""The rich-menu tasks: what each answers when a run can't go ahead."""

from datetime import timedelta

import pytest
from django.utils import timezone

from richmessages.richmenu_models import RichMenu, RichMenuAlias
from richmessages.richmenu_tasks import delete_rich_menu_alias, sync_rich_menu

pytestmark = pytest.mark.django_db


def test_it_leaves_a_menu_to_the_runner_that_holds_it(make_menu):
    menu = make_menu()
    RichMenu.objects.filter(pk=menu.pk).update(sync_lease_until=timezone.now() + timedelta(minutes=5))

    assert sync_rich_menu.delay(menu.pk).get() == "busy"
    assert not menu.deployments.exists()


def test_it_reports_a_sync_line_failed_and_keeps_the_error(line_settings, make_menu, settings):
    settings.LINE_API_ATTEMPTS = 2
    menu = make_menu()
    line_settings.control.set_faults(errors=[{"endpoint": "*", "status": 503, "rate": 1.0}])

    assert sync_rich_menu.delay(menu.pk).get() == "failed"
    menu.refresh_from_db()
    assert "HTTP 503" in menu.sync_error


def test_it_syncs_a_menu(line_settings, make_menu):
    menu = make_menu()

    assert sync_rich_menu.delay(menu.pk).get() == "ok"
    assert menu.live_deployment.line_rich_menu_id in line_settings.double.state.rich_menus


def test_it_keeps_an_alias_on_line_that_was_made_again_since(line_settings, make_menu):
    RichMenuAlias.objects.create(alias_id="more-menu", menu=make_menu())

    assert delete_rich_menu_alias.delay("more-menu").get() == "kept"
    assert line_settings.control.requests() == []


def test_it_counts_an_alias_already_gone_as_deleted(line_settings):
    assert delete_rich_menu_alias.delay("never-made").get() == "never-made"
    assert [entry["status"] for entry in line_settings.control.requests(endpoint="deleteRichMenuAlias")] == [404]
