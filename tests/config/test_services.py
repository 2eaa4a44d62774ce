from contextlib import contextmanager

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError, connection

from accounts.models import AuditEvent
from core import config
from core.config import runtime
from core.config.services import setting_rollback, setting_rollback_to_default, setting_update
from core.errors import PermissionDeniedError as PermissionDenied
from core.errors import ValidationError
from core.models import AppendOnlyError, RuntimeSetting, RuntimeSettingVersion
from tests.ports import free_port

pytestmark = pytest.mark.django_db


def _messages(excinfo) -> str:
    return excinfo.value.message


def test_it_returns_the_registry_default_without_an_override(settings):
    settings.CONVERSATION_TEMPERATURE = 0.3
    assert config.get("llm.temperature") == 0.3
    assert config.get("features.web_search") is False


def test_it_returns_the_typed_value_after_a_change(administrator):
    setting_update(key="llm.temperature", value=1, actor=administrator, reason="warmer answers")
    value = config.get("llm.temperature")
    assert value == 1.0
    assert isinstance(value, float)


def test_it_refuses_an_unknown_key():
    with pytest.raises(config.UnknownSettingError, match=r"unknown runtime setting 'llm\.tempreature'"):
        config.get("llm.tempreature")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("llm.temperature", 2.5, "llm.temperature must be at most 2 (got 2.5)"),
        ("llm.temperature", -0.1, "llm.temperature must be at least 0 (got -0.1)"),
        ("ratelimit.messages_per_minute", 0, "must be at least 1 (got 0)"),
        ("ratelimit.messages_per_minute", 601, "must be at most 600 (got 601)"),
        ("ratelimit.messages_per_minute", "20", "must be a whole number (got '20')"),
        ("ratelimit.messages_per_minute", 2.5, "must be a whole number (got 2.5)"),
        ("budget.daily_tokens", -1, "must be at least 0 (got -1)"),
        ("features.web_search", "yes", "must be true/false (got 'yes')"),
        ("persona", "x" * 4001, "must be at most 4000 characters (got 4001)"),
        ("llm.model", "gpt-unknown", "llm.model must be one of:"),
    ],
)
def test_it_refuses_a_value_outside_the_schema(administrator, key, value, message):
    with pytest.raises(ValidationError) as excinfo:
        setting_update(key=key, value=value, actor=administrator, reason="testing bounds")
    assert message in _messages(excinfo)
    assert not RuntimeSettingVersion.objects.filter(setting__key=key).exists()
    assert RuntimeSetting.objects.get(key=key).value is None


def test_it_accepts_the_edges_of_the_bounds(administrator):
    setting_update(key="llm.temperature", value=2, actor=administrator, reason="edge")
    setting_update(key="ratelimit.messages_per_minute", value=600, actor=administrator, reason="edge")
    setting_update(key="persona", value="x" * 4000, actor=administrator, reason="edge")
    assert config.get("llm.temperature") == 2.0
    assert config.get("ratelimit.messages_per_minute") == 600
    assert len(config.get("persona")) == 4000


def test_it_takes_the_allowed_models_from_the_environment(administrator, settings):
    settings.LLM_ALLOWED_MODELS = ["house-model"]
    setting_update(key="llm.model", value="house-model", actor=administrator, reason="our own deployment")
    assert config.get("llm.model") == "house-model"
    with pytest.raises(ValidationError):
        setting_update(key="llm.model", value="gpt-4o", actor=administrator, reason="not allowed any more")


def test_it_enforces_the_schema_in_the_model_clean():
    setting = RuntimeSetting(key="llm.temperature", value=3)
    with pytest.raises(DjangoValidationError, match="at most 2"):
        setting.clean()


def test_it_needs_a_reason_for_a_change(administrator):
    with pytest.raises(ValidationError) as excinfo:
        setting_update(key="llm.temperature", value=1.0, actor=administrator, reason="   ")
    assert "Say why the setting changes" in _messages(excinfo)
    assert config.get("llm.temperature") == 0.7


def test_it_keeps_a_version_of_every_change_with_who_why_and_the_diff(administrator):
    first = setting_update(key="llm.temperature", value=0.2, actor=administrator, reason="calmer")
    second = setting_update(key="llm.temperature", value=0.9, actor=administrator, reason="livelier")

    assert (first.number, first.old_value, first.new_value) == (1, None, 0.2)
    assert (second.number, second.old_value, second.new_value) == (2, 0.2, 0.9)
    assert second.changed_by == administrator
    assert second.changed_by_username == "ada"
    assert second.reason == "livelier"
    assert second.created_at is not None


def test_it_creates_no_version_when_the_same_value_is_set_again(administrator):
    setting_update(key="features.web_search", value=True, actor=administrator, reason="on")
    assert setting_update(key="features.web_search", value=True, actor=administrator, reason="on again") is None
    assert RuntimeSettingVersion.objects.filter(setting__key="features.web_search").count() == 1


def test_it_restores_the_default_on_none(administrator):
    setting_update(key="richmessages.cooldown_minutes", value=5, actor=administrator, reason="test campaign")
    setting_update(key="richmessages.cooldown_minutes", value=None, actor=administrator, reason="campaign over")
    assert config.get("richmessages.cooldown_minutes") == 60
    assert RuntimeSetting.objects.get(key="richmessages.cooldown_minutes").value is None


def test_it_rolls_back_to_an_earlier_value_as_a_new_version(administrator):
    v1 = setting_update(key="persona", value="You are Ada.", actor=administrator, reason="first persona")
    setting_update(key="persona", value="You are Bob.", actor=administrator, reason="second persona")

    rollback = setting_rollback(version=v1, actor=administrator, reason="Bob confused users")

    assert config.get("persona") == "You are Ada."
    assert rollback.number == 3
    assert rollback.old_value == "You are Bob."
    assert rollback.new_value == "You are Ada."
    assert rollback.rolled_back_from == v1
    assert list(
        RuntimeSettingVersion.objects.filter(setting__key="persona").order_by("number").values_list("number", flat=True)
    ) == [1, 2, 3]


def test_it_restores_the_default_on_a_rollback_to_the_first_version(administrator):
    v1 = setting_update(key="llm.temperature", value=1.5, actor=administrator, reason="try hot")
    setting_update(key="llm.temperature", value=0.1, actor=administrator, reason="try cold")
    setting_rollback(version=v1, actor=administrator, reason="back to hot")
    assert config.get("llm.temperature") == 1.5
    reset = setting_update(key="llm.temperature", value=None, actor=administrator, reason="default")
    setting_rollback(version=v1, actor=administrator, reason="hot again")
    assert reset.new_value is None
    assert config.get("llm.temperature") == 1.5


def test_it_refuses_a_rollback_to_the_current_value(administrator):
    v1 = setting_update(key="llm.temperature", value=1.5, actor=administrator, reason="try hot")
    with pytest.raises(ValidationError, match="already has the value of version 1"):
        setting_rollback(version=v1, actor=administrator, reason="no-op")


def test_it_refuses_a_non_administrator_a_critical_setting(operator):
    with pytest.raises(PermissionDenied, match="only an Administrator"):
        setting_update(key="llm.model", value="gpt-4o", actor=operator, reason="bigger model")
    with pytest.raises(PermissionDenied):
        setting_update(key="budget.daily_tokens", value=10**9, actor=operator, reason="unlimited")
    assert not RuntimeSettingVersion.objects.exists()


def test_it_lets_a_non_administrator_with_the_permission_change_ordinary_settings(operator):
    setting_update(key="features.web_search", value=True, actor=operator, reason="launch web search")
    assert config.get("features.web_search") is True


def test_it_refuses_a_non_administrator_rolling_back_a_critical_setting(administrator, operator):
    v1 = setting_update(key="llm.model", value="gpt-4o", actor=administrator, reason="bigger")
    setting_update(key="llm.model", value="gpt-4o-mini", actor=administrator, reason="cheaper")
    with pytest.raises(PermissionDenied):
        setting_rollback(version=v1, actor=operator, reason="I liked it")
    assert config.get("llm.model") == "gpt-4o-mini"


def test_it_lets_a_superuser_change_critical_settings(django_user_model):
    root = django_user_model.objects.create_superuser(username="root", password="a-long-test-password-123")
    setting_update(key="llm.model", value="gpt-4o", actor=root, reason="bigger")
    assert config.get("llm.model") == "gpt-4o"


def test_it_refuses_a_change_from_a_user_without_the_permission(analyst):
    with pytest.raises(PermissionDenied, match=r"You may not change features\.web_search"):
        setting_update(key="features.web_search", value=True, actor=analyst, reason="curious")


def test_it_audits_every_change_and_rollback(administrator):
    v1 = setting_update(key="llm.temperature", value=0.2, actor=administrator, reason="calmer")
    setting_update(key="llm.temperature", value=0.9, actor=administrator, reason="livelier")
    setting_rollback(version=v1, actor=administrator, reason="too lively")

    events = list(AuditEvent.objects.filter(target="runtime_setting:llm.temperature").order_by("id"))
    assert [event.action for event in events] == ["config_changed", "config_changed", "config_rolled_back"]
    assert events[1].actor == administrator
    assert events[1].details["old"] == 0.2
    assert events[1].details["new"] == 0.9
    assert events[1].details["reason"] == "livelier"
    assert events[2].details["rolled_back_to_version"] == 1


def test_it_rolls_back_to_the_code_default_as_version_0_and_audits_it(administrator):
    setting_update(key="llm.temperature", value=0.2, actor=administrator, reason="calmer")

    rollback = setting_rollback_to_default(key="llm.temperature", actor=administrator, reason="defaults were fine")

    assert config.get("llm.temperature") == 0.7
    assert (rollback.number, rollback.new_value, rollback.rolls_back_to) == (2, None, 0)
    event = AuditEvent.objects.filter(target="runtime_setting:llm.temperature").latest("id")
    assert (event.action, event.details["rolled_back_to_version"]) == ("config_rolled_back", 0)


def test_it_refuses_a_rollback_to_the_default_while_the_default_applies(administrator):
    with pytest.raises(ValidationError) as excinfo:
        setting_rollback_to_default(key="llm.temperature", actor=administrator, reason="no-op")

    assert _messages(excinfo) == "llm.temperature already uses the code default (version 0)."
    assert not RuntimeSettingVersion.objects.exists()


def test_it_refuses_to_edit_or_delete_a_version(administrator):
    version = setting_update(key="llm.temperature", value=0.2, actor=administrator, reason="calmer")
    version.reason = "rewritten history"
    with pytest.raises(AppendOnlyError):
        version.save()
    with pytest.raises(AppendOnlyError):
        version.delete()


def test_it_gives_every_registry_key_a_row_after_migrate():
    from core.config.registry import REGISTRY

    assert set(RuntimeSetting.objects.values_list("key", flat=True)) >= set(REGISTRY)


@contextmanager
def database_down():
    """The database stops answering: this process's connection drops and a new one is refused."""
    connection.close()
    saved = connection.settings_dict["HOST"], connection.settings_dict["PORT"]
    connection.settings_dict["HOST"], connection.settings_dict["PORT"] = "127.0.0.1", str(free_port())
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["HOST"], connection.settings_dict["PORT"] = saved


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_last_known_values_when_the_database_cannot_be_read(administrator):
    setting_update(key="llm.temperature", value=1.2, actor=administrator, reason="warmer")
    assert config.get("llm.temperature") == 1.2

    runtime.state.invalidate()
    with database_down():
        with pytest.raises(OperationalError):
            RuntimeSetting.objects.count()
        assert config.get("llm.temperature") == 1.2


@pytest.mark.django_db(transaction=True)
def test_it_serves_defaults_when_the_database_was_never_readable():
    with database_down():
        assert config.get("llm.temperature") == 0.7


def test_it_falls_back_to_the_default_for_a_stored_value_that_no_longer_fits_the_schema():
    RuntimeSetting.objects.filter(key="llm.temperature").update(value=7.5)
    assert config.get("llm.temperature") == 0.7
