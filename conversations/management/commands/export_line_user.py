"""Writes everything held about one LINE user as JSON (to a file or standard output); audited."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from conversations.models import LineUser
from conversations.privacy import line_user_export


class Command(BaseCommand):
    help = "Export everything held about one LINE user as JSON (PDPA/APPI/GDPR access request)."

    def add_arguments(self, parser):
        parser.add_argument("line_user_id", help="The user's LINE id (U...)")
        parser.add_argument("--output", "-o", help="File to write; standard output if omitted")

    def handle(self, *args, line_user_id, output=None, **options):
        user = LineUser.objects.filter(line_user_id=line_user_id).first()
        if user is None:
            raise CommandError(f"No LINE user {line_user_id!r}.")
        data = line_user_export(line_user=user, actor=None)
        text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
            self.stderr.write(f"Exported LINE user #{user.pk} to {output}.")
        else:
            self.stdout.write(text)
