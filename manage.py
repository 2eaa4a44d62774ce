#!/usr/bin/env python
import os
import sys


def main():
    # The embedded default for commands; servers and Celery default to production (see wsgi.py).
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linebot_project.settings.local")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured:
        # Django can stop before its system checks run (it refuses an empty SECRET_KEY as soon
        # as an app reads it): name the variables behind it in one line each, as the checks do.
        from core.checks import environment_errors

        errors = environment_errors()
        if not errors:
            raise
        print("\n".join(errors), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
