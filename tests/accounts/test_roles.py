import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command

from accounts import roles
from accounts.models import AuditEvent

pytestmark = pytest.mark.django_db


def _add_model_permissions(app_label, model):
    content_type = ContentType.objects.create(app_label=app_label, model=model)
    for action in ("add", "change", "delete", "view"):
        Permission.objects.create(content_type=content_type, codename=f"{action}_{model}", name=f"Can {action} {model}")


def _perms(role):
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_it_has_the_four_role_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ROLE_NAMES)


def test_it_gives_an_administrator_every_permission_including_staff_and_configuration():
    perms = _perms(roles.ADMINISTRATOR)
    assert perms == {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.all()}
    assert {"accounts.change_user", "accounts.view_auditevent", "core.change_runtimesetting"} <= perms


def test_it_gives_an_operator_conversations_monitoring_and_test_messages_but_not_staff():
    perms = _perms(roles.OPERATOR)
    assert "accounts.send_test_message" in perms
    assert "monitoring.change_alert" in perms
    assert any(p.startswith("conversations.change_") for p in perms)
    assert not any(p.startswith(("accounts.", "core.", "auth.")) and p != "accounts.send_test_message" for p in perms)


def test_it_gives_a_content_editor_rich_messages_and_no_staff_or_configuration_permission():
    perms = _perms(roles.CONTENT_EDITOR)
    rich = {
        f"richmessages.{p.codename}"
        for p in Permission.objects.filter(content_type__app_label="richmessages")
        if p.codename != "approve_richtemplate"
    }
    staff_and_configuration = {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.filter(content_type__app_label__in=["accounts", "core", "auth", "conversations"])
    }
    assert {"richmessages.add_richtemplate", "richmessages.add_richmessage"} <= rich
    assert perms == rich
    assert staff_and_configuration and perms.isdisjoint(staff_and_configuration)


def test_it_keeps_template_approval_from_content_editors():
    assert "richmessages.approve_richtemplate" not in _perms(roles.CONTENT_EDITOR)
    assert "richmessages.approve_richtemplate" in _perms(roles.OPERATOR)


def test_it_lets_an_analyst_only_view():
    perms = _perms(roles.ANALYST)
    assert perms
    assert all(p.split(".")[1].startswith("view_") for p in perms)


def test_it_grants_permissions_of_models_added_later_on_sync():
    ct = ContentType.objects.create(app_label="richmessages", model="laterthing")
    Permission.objects.create(content_type=ct, codename="change_laterthing", name="Can change later thing")
    Permission.objects.create(content_type=ct, codename="view_laterthing", name="Can view later thing")
    roles.roles_sync()
    assert "richmessages.change_laterthing" in _perms(roles.CONTENT_EDITOR)
    assert "richmessages.change_laterthing" in _perms(roles.ADMINISTRATOR)
    assert "richmessages.change_laterthing" not in _perms(roles.OPERATOR)


def test_it_takes_away_a_permission_granted_by_hand_on_sync():
    group = Group.objects.get(name=roles.ANALYST)
    group.permissions.add(Permission.objects.get(codename="change_user"))
    roles.roles_sync()
    assert "accounts.change_user" not in _perms(roles.ANALYST)


def test_it_makes_a_user_with_an_assigned_role_staff(make_user):
    user = make_user("newbie")
    call_command("assign_role", "newbie", "operator")
    user.refresh_from_db()
    assert user.is_staff
    assert roles.user_roles(user) == [roles.OPERATOR]


def test_it_audits_an_assigned_role(make_user):
    make_user("newbie")
    call_command("assign_role", "newbie", "operator")
    assert AuditEvent.objects.filter(action="role_assigned", target="user:newbie").exists()


def test_it_takes_staff_away_with_the_last_role_removed(make_user):
    user = make_user("leaver", role=roles.ANALYST)
    call_command("assign_role", "leaver", roles.ANALYST, "--remove")
    user.refresh_from_db()
    assert not user.is_staff
    assert roles.user_roles(user) == []
    assert AuditEvent.objects.filter(action="role_removed", target="user:leaver").exists()


def test_it_rejects_assigning_an_unknown_role(make_user):
    make_user("someone")
    with pytest.raises(CommandError, match="unknown role"):
        call_command("assign_role", "someone", "Janitor")


def test_it_rejects_assigning_a_role_to_an_unknown_user():
    with pytest.raises(CommandError, match="no user named"):
        call_command("assign_role", "ghost", roles.ANALYST)
