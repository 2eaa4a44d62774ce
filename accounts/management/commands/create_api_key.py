from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import api_keys
from core.errors import ValidationError


class Command(BaseCommand):
    help = (
        "Issues an API key for a user. The key is printed once, alone on the last line of the output, "
        "and cannot be shown again."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--scope",
            dest="scopes",
            action="append",
            required=True,
            metavar="SCOPE",
            help=f"a scope the key carries (repeat for several): {', '.join(sorted(api_keys.SCOPES))}",
        )
        parser.add_argument("--name", default="command line", help="what the key is for (default: command line)")

    def handle(self, *args, username, scopes, name, **options):
        unknown = sorted(set(scopes) - set(api_keys.SCOPES))
        if unknown:
            raise CommandError(
                f"unknown scope(s): {', '.join(unknown)}; expected some of: {', '.join(sorted(api_keys.SCOPES))}"
            )
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        if not user.is_active:
            raise CommandError(f"the user {username!r} is inactive; an inactive user's keys do not work")
        try:
            issued = api_keys.api_key_create(user=user, name=name, scopes=scopes)
        except ValidationError as exc:
            raise CommandError(exc.message) from None
        key = issued.api_key
        self.stdout.write(
            f"Created API key {key.prefix} ({key.name!r}) for {username} with scopes: {', '.join(key.scopes)}"
        )
        self.stdout.write("It is shown only now; store it safely. The key:")
        self.stdout.write(issued.plaintext)
