"""The garbage collector waits out start-up, then sees only what the process makes afterwards (core.startup)."""

import gc
import os
import subprocess
import sys

from django.conf import settings

from tests.security.production_env import REPO

PROBE = """
import gc, sys
import linebot_project
held = not gc.isenabled()
import django
django.setup()
print(held, gc.isenabled(), gc.get_freeze_count())
"""


def printed_by(code: str) -> list[str]:
    """The words ``code`` printed last, run in a new interpreter with the test settings."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "linebot_project.settings.test"}
    command = [sys.executable, "-c", code]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1].split()


def test_it_holds_the_collector_off_from_the_first_import_until_django_is_set_up():
    held, enabled, frozen = printed_by(PROBE)

    assert (held, enabled) == ("True", "True")
    # Django, the apps and their libraries: far more objects than a bare interpreter's few thousand.
    assert int(frozen) > 100_000


def test_it_ends_start_up_after_every_other_app_is_ready():
    assert settings.INSTALLED_APPS[-1] == "linebot_project.apps.ProjectConfig"


def test_it_leaves_the_collector_on_in_a_set_up_process():
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0


GUNICORN_MASTER = """
import gc
from linebot_project import gunicorn_conf
in_master = gc.isenabled()
gunicorn_conf.post_fork(server=None, worker=None)
print(in_master, gc.isenabled())
"""


def test_it_keeps_the_collector_on_in_gunicorns_master_and_holds_it_off_in_a_new_worker():
    assert printed_by(GUNICORN_MASTER) == ["True", "False"]
