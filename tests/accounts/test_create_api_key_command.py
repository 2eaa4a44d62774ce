from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts import api_keys
from accounts.models import ApiKey, AuditEvent

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command("create_api_key", *args, stdout=out)
    return out.getvalue()


def test_it_prints_a_working_key_on_the_last_line(make_user):
    make_user("ci-bot")

    out = run("ci-bot", "--scope", "richmessages:read", "--scope", "richmessages:write", "--name", "uploader")

    key = out.splitlines()[-1]
    authenticated = api_keys.api_key_authenticate(presented=key)
    assert authenticated.user.username == "ci-bot"
    assert (authenticated.name, authenticated.scopes) == ("uploader", ["richmessages:read", "richmessages:write"])
    assert key not in "\n".join(out.splitlines()[:-1])
    assert AuditEvent.objects.get(action=AuditEvent.Action.API_KEY_CREATED).details["name"] == "uploader"


def test_it_refuses_an_unknown_scope(make_user):
    make_user("ci-bot")

    with pytest.raises(CommandError, match="unknown scope\\(s\\): rich:all; expected some of: "):
        run("ci-bot", "--scope", "rich:all")
    assert not ApiKey.objects.exists()


def test_it_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="no user named 'nobody'"):
        run("nobody", "--scope", "me:read")
    assert not ApiKey.objects.exists()


def test_it_refuses_an_inactive_user(make_user):
    user = make_user("gone")
    user.is_active = False
    user.save()

    with pytest.raises(CommandError, match="inactive"):
        run("gone", "--scope", "me:read")


def test_it_needs_at_least_one_scope(make_user):
    make_user("ci-bot")

    with pytest.raises(CommandError, match="--scope"):
        run("ci-bot")
