import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import audit, roles
from accounts.models import AuditEvent


class Command(BaseCommand):
    help = (
        "Creates a demo Administrator with a random one-time password, only if no superuser exists. "
        "The password must be changed at the first sign-in."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("A superuser already exists; none created.")
            return
        password = secrets.token_urlsafe(12)
        roles.roles_sync()
        with transaction.atomic():
            user = User.objects.create_superuser(
                username=username, email="", password=password, must_change_password=True
            )
            user.groups.add(Group.objects.get(name=roles.ADMINISTRATOR))
            audit.record(
                action=AuditEvent.Action.ROLE_ASSIGNED,
                target=f"user:{user.username}",
                details={"role": roles.ADMINISTRATOR, "by": "ensure_demo_superuser", "must_change_password": True},
            )
        self.stdout.write(f"Created superuser '{username}' ({roles.ADMINISTRATOR}) with one-time password: {password}")
        self.stdout.write("The first sign-in sets up two-factor authentication, then asks for a new password.")
