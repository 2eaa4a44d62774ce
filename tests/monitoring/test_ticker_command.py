"""``manage.py run_dashboard_ticker``."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db


def test_it_refuses_to_run_where_no_other_process_could_hear_it():
    # The test settings' channel layer is in memory, as on the embedded default without Redis.
    with pytest.raises(CommandError, match="in memory"):
        call_command("run_dashboard_ticker")


def test_it_prints_what_it_published_when_run_once():
    out = StringIO()

    call_command("run_dashboard_ticker", "--once", "--dashboard", "analytics", stdout=out)

    sent = json.loads(out.getvalue())
    assert list(sent) == ["analytics"]
    assert sent["analytics"]["type"] == "update" and sent["analytics"]["seq"] >= 2
