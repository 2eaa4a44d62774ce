"""Roles are groups. This module is the single place that says what each role may do.

``roles_sync()`` (re)applies the mapping. It runs from the data migration and
after every ``migrate`` (post_migrate), so permissions of models that other
apps add later are granted without another migration.

A rule is either an exact permission (``"app_label.codename"``) or a whole
app with a set of actions: ``AppRule("conversations", ALL)`` grants every
permission of the app, including its custom ones; ``AppRule("analytics", VIEW)``
grants only the ``view_*`` permissions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ADMINISTRATOR = "Administrator"
OPERATOR = "Operator"
CONTENT_EDITOR = "Content editor"
ANALYST = "Analyst"

ALL = frozenset({"add", "change", "delete", "view", "custom"})
VIEW = frozenset({"view"})

_STANDARD_ACTIONS = ("add", "change", "delete", "view")


@dataclass(frozen=True)
class AppRule:
    app_label: str
    actions: frozenset[str]
    # Models of the app left out of the rule (lower-case model names).
    except_models: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Role:
    name: str
    all_permissions: bool = False
    apps: tuple[AppRule, ...] = ()
    permissions: tuple[str, ...] = ()
    # Exact permissions never granted, even when an app rule would match.
    excluded: tuple[str, ...] = field(default=())


ROLES: dict[str, Role] = {
    ADMINISTRATOR: Role(ADMINISTRATOR, all_permissions=True),
    OPERATOR: Role(
        OPERATOR,
        apps=(AppRule("conversations", ALL), AppRule("monitoring", ALL), AppRule("richmessages", VIEW)),
        permissions=(
            "accounts.send_test_message",
            "richmessages.approve_richtemplate",
            "richmessages.send_test_richmessage",
            # Rich menus are run by operators as well as edited by the content team.
            "richmessages.add_richmenu",
            "richmessages.change_richmenu",
            "richmessages.delete_richmenu",
            "richmessages.add_richmenualias",
            "richmessages.change_richmenualias",
            "richmessages.delete_richmenualias",
            "richmessages.change_richmenuuserlink",
            "richmessages.approve_campaign",
        ),
        # Operators export a LINE user's data on request; erasing it is an Administrator's decision.
        excluded=("conversations.erase_personal_data",),
    ),
    # Content editors make templates and messages; someone else (an Operator or Administrator) approves.
    CONTENT_EDITOR: Role(
        CONTENT_EDITOR,
        apps=(AppRule("richmessages", ALL),),
        permissions=("monitoring.view_campaigns_dashboard", "monitoring.view_analytics_dashboard"),
        excluded=("richmessages.approve_richtemplate", "richmessages.approve_campaign"),
    ),
    ANALYST: Role(
        ANALYST,
        apps=(AppRule("analytics", VIEW), AppRule("monitoring", VIEW)),
        permissions=("monitoring.view_analytics_dashboard",),
    ),
}
# Live dashboards (monitoring.dashboards): operations for Administrators and Operators (Operators hold
# every monitoring permission), campaigns also for Content editors, analytics also for Analysts.

ROLE_NAMES = tuple(ROLES)


def _action_of(codename: str, model: str) -> str:
    for action in _STANDARD_ACTIONS:
        if codename == f"{action}_{model}":
            return action
    return "custom"


def permissions_for(role: Role, *, permission_model, content_type_model=None):
    """The queryset of permissions the role should have."""
    qs = permission_model.objects.select_related("content_type")
    if role.all_permissions:
        return list(qs.all())
    wanted = []
    rules = {rule.app_label: rule for rule in role.apps}
    exact = {tuple(p.split(".", 1)) for p in role.permissions}
    excluded = {tuple(p.split(".", 1)) for p in role.excluded}
    candidates = qs.filter(content_type__app_label__in=set(rules) | {a for a, _ in exact})
    for perm in candidates:
        key = (perm.content_type.app_label, perm.codename)
        if key in excluded:
            continue
        rule = rules.get(perm.content_type.app_label)
        if key in exact or (
            rule
            and perm.content_type.model not in rule.except_models
            and _action_of(perm.codename, perm.content_type.model) in rule.actions
        ):
            wanted.append(perm)
    return wanted


def roles_sync(*, apps=None, using: str = "default") -> None:
    """Creates the role groups and sets their permissions to exactly what ROLES says."""
    if apps is None:
        from django.apps import apps as global_apps

        apps = global_apps
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for role in ROLES.values():
        group, _ = group_model.objects.using(using).get_or_create(name=role.name)
        group.permissions.set(permissions_for(role, permission_model=permission_model))


def user_roles(user) -> list[str]:
    if not getattr(user, "is_authenticated", False):
        return []
    return sorted(set(user.groups.filter(name__in=ROLE_NAMES).values_list("name", flat=True)))


def has_role(user, role: str) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser and role == ADMINISTRATOR:
        return True
    return user.groups.filter(name=role).exists()


def is_administrator(user) -> bool:
    return has_role(user, ADMINISTRATOR)
