import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command

from accounts import roles
from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db


def _perms(role):
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_the_four_role_groups_exist():
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ROLE_NAMES)


def test_an_administrator_holds_every_permission_including_staff_and_configuration():
    perms = _perms(roles.ADMINISTRATOR)
    assert perms == {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.all()}
    assert {"accounts.change_user", "accounts.view_auditevent", "core.change_runtimesetting"} <= perms


def test_an_operator_manages_conversations_and_monitoring_and_sends_test_messages_but_not_staff():
    perms = _perms(roles.OPERATOR)
    assert "accounts.send_test_message" in perms
    assert "monitoring.change_alert" in perms
    assert any(p.startswith("conversations.change_") for p in perms)
    assert not any(p.startswith(("accounts.", "core.", "auth.")) and p != "accounts.send_test_message" for p in perms)


def test_a_content_editor_has_no_staff_or_configuration_permission():
    perms = _perms(roles.CONTENT_EDITOR)
    assert not any(p.startswith(("accounts.", "core.", "auth.", "conversations.")) for p in perms)
    dashboards = {"monitoring.view_campaigns_dashboard", "monitoring.view_analytics_dashboard"}
    assert all(p.startswith("richmessages.") for p in perms - dashboards)
    assert dashboards <= perms


def test_an_analyst_may_only_view():
    perms = _perms(roles.ANALYST)
    assert perms
    assert all(p.split(".")[1].startswith("view_") for p in perms)


def test_roles_sync_grants_permissions_of_models_added_later():
    from django.contrib.contenttypes.models import ContentType

    ct = ContentType.objects.create(app_label="richmessages", model="laterthing")
    Permission.objects.create(content_type=ct, codename="change_laterthing", name="Can change later thing")
    Permission.objects.create(content_type=ct, codename="view_laterthing", name="Can view later thing")
    roles.roles_sync()
    assert "richmessages.change_laterthing" in _perms(roles.CONTENT_EDITOR)
    assert "richmessages.change_laterthing" in _perms(roles.ADMINISTRATOR)
    assert "richmessages.change_laterthing" not in _perms(roles.OPERATOR)


def test_roles_sync_takes_away_a_permission_granted_by_hand():
    group = Group.objects.get(name=roles.ANALYST)
    group.permissions.add(Permission.objects.get(codename="change_user"))
    roles.roles_sync()
    assert "accounts.change_user" not in _perms(roles.ANALYST)


def test_assign_role_makes_the_user_staff_and_is_audited(make_user):
    user = make_user("newbie")
    call_command("assign_role", "newbie", "operator")
    user.refresh_from_db()
    assert user.is_staff
    assert roles.user_roles(user) == [roles.OPERATOR]
    assert AuditEvent.objects.filter(action="role_assigned", target="user:newbie").exists()


def test_assign_role_remove_takes_staff_away_with_the_last_role(make_user):
    user = make_user("leaver", role=roles.ANALYST)
    call_command("assign_role", "leaver", roles.ANALYST, "--remove")
    user.refresh_from_db()
    assert not user.is_staff
    assert roles.user_roles(user) == []
    assert AuditEvent.objects.filter(action="role_removed", target="user:leaver").exists()


def test_assign_role_rejects_an_unknown_role(make_user):
    make_user("someone")
    with pytest.raises(CommandError, match="unknown role"):
        call_command("assign_role", "someone", "Janitor")


def test_assign_role_rejects_an_unknown_user():
    with pytest.raises(CommandError, match="no user named"):
        call_command("assign_role", "ghost", roles.ANALYST)
