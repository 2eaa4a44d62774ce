from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from accounts import audit, roles
from accounts.models import AuditEvent


class Command(BaseCommand):
    help = "Gives a user a role (a group). Staff roles also grant admin access. --remove takes it away."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", help=f"one of: {', '.join(roles.ROLE_NAMES)}")
        parser.add_argument("--remove", action="store_true", help="remove the role instead of assigning it")

    def handle(self, *args, username, role, remove, **options):
        if role not in roles.ROLES:
            matches = [name for name in roles.ROLE_NAMES if name.lower() == role.lower()]
            if not matches:
                raise CommandError(f"unknown role {role!r}; expected one of: {', '.join(roles.ROLE_NAMES)}")
            role = matches[0]
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"no user named {username!r}") from None
        roles.roles_sync()
        group = Group.objects.get(name=role)
        if remove:
            user.groups.remove(group)
            if not user.is_superuser and not roles.user_roles(user):
                user.is_staff = False
                user.save(update_fields=["is_staff"])
            audit.record(action=AuditEvent.Action.ROLE_REMOVED, target=f"user:{user.username}", details={"role": role})
            self.stdout.write(f"Removed role {role} from {username}.")
        else:
            user.groups.add(group)
            if not user.is_staff:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            audit.record(action=AuditEvent.Action.ROLE_ASSIGNED, target=f"user:{user.username}", details={"role": role})
            self.stdout.write(f"Assigned role {role} to {username}.")
