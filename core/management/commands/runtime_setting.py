"""Runtime settings from the command line, for scripts and for when the ops console is unreachable.

    python manage.py runtime_setting list
    python manage.py runtime_setting set budget.daily_tokens 0 --as alice --reason "incident 42"
    python manage.py runtime_setting history llm.model
    python manage.py runtime_setting rollback 17 --as alice --reason "back to the cheaper model"

Changes go through the same service as the admin: validated, permission-checked for the
``--as`` user, versioned, audited and published to every process.
"""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core import config
from core.config import services
from core.config.models import RuntimeSetting, RuntimeSettingVersion
from core.config.registry import REGISTRY, UnknownSettingError, definition_for
from core.config.selectors import display_value, setting_history, version_diff
from core.errors import AppError


class Command(BaseCommand):
    help = "Lists, changes and rolls back runtime settings (list shows every key)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("list", help="every setting with its current value")
        history = sub.add_parser("history", help="the versions of one setting, newest first")
        history.add_argument("key")
        change = sub.add_parser("set", help="change one setting")
        change.add_argument("key")
        change.add_argument("value", help='JSON for numbers and booleans (0.5, true); text as is; "default" resets')
        rollback = sub.add_parser("rollback", help="restore the value a version set")
        rollback.add_argument("version_id", type=int)
        for parser_ in (change, rollback):
            parser_.add_argument("--as", dest="username", required=True, help="the staff user making the change")
            parser_.add_argument("--reason", required=True)

    def handle(self, *args, action, **options):
        try:
            return getattr(self, f"_{action}")(**options)
        except UnknownSettingError as exc:
            raise CommandError(str(exc)) from None
        except AppError as exc:
            raise CommandError(exc.message) from None

    def _list(self, **options):
        overridden = dict(RuntimeSetting.objects.filter(value__isnull=False).values_list("key", "value"))
        for key, definition in REGISTRY.items():
            marker = "critical " if definition.critical else ""
            source = "set" if key in overridden else "default"
            self.stdout.write(
                f"{key} = {json.dumps(config.get(key))}  ({source}; {marker}{definition.describe_bounds()})"
            )

    def _history(self, *, key, **options):
        definition_for(key)
        for version in setting_history(key=key):
            self.stdout.write(
                f"#{version.pk} v{version.number} {version.created_at:%Y-%m-%d %H:%M:%S} "
                f"{version.changed_by_username or '-'}: {version_diff(version)}  ({version.reason})"
            )

    def _set(self, *, key, value, username, reason, **options):
        definition = definition_for(key)
        if value == "default":
            parsed = None
        elif definition.type is str:
            parsed = value
        else:
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                raise CommandError(f"{key} needs a JSON value such as 5, 0.5 or true (got {value!r}).") from None
        version = services.setting_update(key=key, value=parsed, actor=self._user(username), reason=reason)
        if version is None:
            self.stdout.write(f"{key} already had this value; nothing changed.")
        else:
            self.stdout.write(f"{key}: {version_diff(version)} (version {version.number})")

    def _rollback(self, *, version_id, username, reason, **options):
        try:
            version = RuntimeSettingVersion.objects.select_related("setting").get(pk=version_id)
        except RuntimeSettingVersion.DoesNotExist:
            raise CommandError(f"there is no runtime setting version #{version_id}") from None
        new = services.setting_rollback(version=version, actor=self._user(username), reason=reason)
        self.stdout.write(
            f"{version.setting.key} = {display_value(version.setting.key, new.new_value)} (version {new.number})"
        )

    def _user(self, username):
        try:
            return get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"there is no user {username!r}") from None
