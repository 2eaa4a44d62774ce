import pytest

from core.config.selectors import version_diff
from core.config.services import setting_update

pytestmark = pytest.mark.django_db


def test_it_shows_a_long_text_change_as_a_line_diff(administrator):
    old = "You are the bakery's helper.\nAnswer briefly.\nNever give medical advice."
    new = "You are the bakery's helper.\nAnswer in detail.\nNever give medical advice."
    setting_update(key="persona", value=old, actor=administrator, reason="first")
    version = setting_update(key="persona", value=new, actor=administrator, reason="more detail")

    diff = version_diff(version)

    assert "--- v1\n+++ v2" in diff
    assert "-Answer briefly." in diff
    assert "+Answer in detail." in diff
    assert " Never give medical advice." in diff


def test_it_shows_a_number_change_as_old_arrow_new(administrator):
    setting_update(key="ratelimit.messages_per_minute", value=30, actor=administrator, reason="more")
    version = setting_update(key="ratelimit.messages_per_minute", value=None, actor=administrator, reason="default")
    assert version_diff(version) == "30 → (default) 20"
