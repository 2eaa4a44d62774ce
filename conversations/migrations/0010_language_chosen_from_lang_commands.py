"""Users who typed ``/lang <code>`` before ``language_chosen`` existed chose their language: it stays chosen.

Their commands are kept as messages. A user whose language is still the code of their last ``/lang``
is marked; a user whose profile has changed it since, or whose messages retention removed, keeps
the default (the app's language, followed from now on).
"""

import re

from django.db import migrations

_LANG = re.compile(r"^\s*/lang\s+(\S+)\s*$", re.IGNORECASE)


def mark_chosen_languages(apps, schema_editor):
    LineUser = apps.get_model("conversations", "LineUser")
    Message = apps.get_model("conversations", "Message")
    last_code = {}
    commands = (
        Message.objects.filter(role="user", line_user__isnull=False, content__istartswith="/lang")
        .order_by("created_at", "id")
        .values_list("line_user_id", "content")
    )
    for user_id, content in commands.iterator():
        match = _LANG.match(content)
        if match:
            last_code[user_id] = match.group(1).lower()
    chosen = [
        pk
        for pk, language in LineUser.objects.filter(pk__in=list(last_code)).values_list("pk", "language")
        if language and language.lower() == last_code[pk]
    ]
    LineUser.objects.filter(pk__in=chosen).update(language_chosen=True)


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0009_line_user_language_chosen"),
    ]

    operations = [
        migrations.RunPython(mark_chosen_languages, migrations.RunPython.noop, elidable=True),
    ]
