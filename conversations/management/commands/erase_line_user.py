"""Erases one LINE user's personal data in every app and in Redis; audited. Asks for --yes."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from conversations.models import LineUser
from conversations.privacy import line_user_erase
from core.errors import AppError


def _find(given: str) -> LineUser | None:
    if given.startswith("#") and given[1:].isdigit():
        return LineUser.objects.filter(pk=int(given[1:])).first()
    return LineUser.objects.filter(line_user_id=given).first()


class Command(BaseCommand):
    help = "Erase one LINE user's personal data (PDPA/APPI/GDPR erasure request). Cannot be undone."

    def add_arguments(self, parser):
        parser.add_argument(
            "line_user_id", help="The user's LINE id (U...), or #<key> for the row's key (as the audit log names it)"
        )
        parser.add_argument("--yes", action="store_true", help="Confirm: without it nothing is erased")
        parser.add_argument(
            "--verify", action="store_true", help="Afterwards, search every table for the id (slow on big tables)"
        )

    def handle(self, *args, line_user_id, yes=False, verify=False, **options):
        user = _find(line_user_id)
        if user is None:
            raise CommandError(f"No LINE user {line_user_id!r}.")
        if not yes:
            raise CommandError("Erasure cannot be undone; run again with --yes to erase.")
        try:
            erasure = line_user_erase(line_user=user, actor=None, verify=verify)
        except AppError as exc:
            raise CommandError(exc.message) from exc
        for part, counts in erasure.counts.items():
            shown = ", ".join(f"{k}={v}" for k, v in counts.items())
            self.stdout.write(f"{part}: {shown}")
        if verify:
            if erasure.remaining:
                for trace in erasure.remaining:
                    self.stdout.write(f"LEFT: {trace.model}.{trace.field} in {trace.rows} row(s)")
                raise CommandError("Traces of the LINE user remain (listed above).")
            self.stdout.write("Verified: no table holds the LINE id any more.")
        self.stdout.write(f"LINE user #{user.pk} erased; now {erasure.replacement}.")
