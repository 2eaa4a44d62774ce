from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core import config
from core.models import RuntimeSettingVersion

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command("runtime_setting", *args, stdout=out)
    return out.getvalue()


def test_it_lists_every_setting_with_its_value():
    out = _run("list")
    assert "llm.temperature = 0.7  (default; number, ≥ 0, ≤ 2)" in out
    assert "budget.daily_tokens = " in out
    assert "critical" in out


def test_it_sets_a_setting_as_the_named_user(administrator):
    out = _run("set", "budget.daily_tokens", "0", "--as", "ada", "--reason", "incident 42")
    assert "budget.daily_tokens: (default) 50000 → 0 (version 1)" in out
    assert config.get("budget.daily_tokens") == 0
    assert RuntimeSettingVersion.objects.get().changed_by == administrator


def test_it_sets_text_settings_to_the_text_as_given(administrator):
    _run("set", "persona", "You are terse.", "--as", "ada", "--reason", "shorter answers")
    assert config.get("persona") == "You are terse."


def test_it_refuses_to_set_a_value_out_of_bounds(administrator):
    with pytest.raises(CommandError, match="must be at most 2"):
        _run("set", "llm.temperature", "9", "--as", "ada", "--reason", "hot")


def test_it_refuses_to_set_a_critical_setting_for_a_non_administrator(operator):
    with pytest.raises(CommandError, match="only an Administrator"):
        _run("set", "llm.model", "gpt-4o", "--as", "otto", "--reason", "bigger")


def _set_twice_and_roll_back():
    _run("set", "llm.temperature", "0.2", "--as", "ada", "--reason", "calm")
    _run("set", "llm.temperature", "0.9", "--as", "ada", "--reason", "lively")
    first = RuntimeSettingVersion.objects.get(number=1)
    _run("rollback", str(first.pk), "--as", "ada", "--reason", "too lively")


def test_it_rolls_back_to_a_version(administrator):
    _set_twice_and_roll_back()
    assert config.get("llm.temperature") == 0.2


def test_it_shows_the_history_of_a_setting(administrator):
    _set_twice_and_roll_back()
    history = _run("history", "llm.temperature")
    assert "v3" in history
    assert "0.9 → 0.2  (too lively)" in history


def test_it_answers_an_unknown_key_with_a_clear_error(administrator):
    with pytest.raises(CommandError, match="unknown runtime setting"):
        _run("set", "llm.temp", "1", "--as", "ada", "--reason", "x")


def test_it_answers_an_unknown_user_with_a_clear_error(administrator):
    with pytest.raises(CommandError, match="there is no user 'nobody'"):
        _run("set", "llm.temperature", "1", "--as", "nobody", "--reason", "x")
