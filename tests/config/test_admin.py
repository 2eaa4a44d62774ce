import pytest
from django.urls import reverse

from core import config
from core.config.registry import REGISTRY
from core.config.services import setting_rollback, setting_update
from core.models import RuntimeSetting, RuntimeSettingVersion

pytestmark = pytest.mark.django_db


def _change_url(key):
    return reverse("admin:core_runtimesetting_change", args=[RuntimeSetting.objects.get(key=key).pk])


def _rollback_url(version):
    return reverse("admin:core_runtimesettingversion_rollback", args=[version.pk])


def test_it_lists_every_setting_with_its_current_value(verified_client, administrator):
    setting_update(key="persona", value="You are the Kyoto bakery's helper.", actor=administrator, reason="rebrand")
    response = verified_client(administrator).get(reverse("admin:core_runtimesetting_changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    for key in REGISTRY:
        assert key in body
    assert "You are the Kyoto bakery&#x27;s helper." in body


def test_it_lets_an_administrator_change_a_setting_with_a_reason(verified_client, administrator):
    client = verified_client(administrator)
    response = client.post(_change_url("llm.temperature"), {"value": "1.1", "reason": "livelier answers"})
    assert response.status_code == 302
    assert config.get("llm.temperature") == 1.1
    version = RuntimeSettingVersion.objects.get(setting__key="llm.temperature")
    assert (version.old_value, version.new_value, version.reason) == (None, 1.1, "livelier answers")


def test_it_refuses_a_value_out_of_bounds_in_the_form_and_changes_nothing(verified_client, administrator):
    client = verified_client(administrator)
    response = client.post(_change_url("llm.temperature"), {"value": "2.5", "reason": "too hot"})
    assert response.status_code == 200
    assert "Ensure this value is less than or equal to 2" in response.content.decode()
    assert config.get("llm.temperature") == 0.7
    assert not RuntimeSettingVersion.objects.exists()


def test_it_requires_a_reason_in_the_form(verified_client, administrator):
    response = verified_client(administrator).post(_change_url("llm.temperature"), {"value": "1.0", "reason": ""})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not RuntimeSettingVersion.objects.exists()


def test_it_restores_the_default_from_the_form(verified_client, administrator):
    setting_update(key="features.web_search", value=True, actor=administrator, reason="on")
    client = verified_client(administrator)
    client.post(_change_url("features.web_search"), {"use_default": "on", "reason": "back to default"})
    assert RuntimeSetting.objects.get(key="features.web_search").value is None
    assert config.get("features.web_search") is False


def test_it_shows_the_history_with_diffs_on_the_change_page(verified_client, administrator):
    setting_update(key="llm.temperature", value=0.2, actor=administrator, reason="calmer")
    setting_update(key="llm.temperature", value=0.9, actor=administrator, reason="livelier")
    body = verified_client(administrator).get(_change_url("llm.temperature")).content.decode()
    assert "0.2 → 0.9" in body
    assert "(default) 0.7 → 0.2" in body
    assert "livelier" in body
    assert "Roll back to v1" in body


def test_it_shows_a_critical_setting_read_only_to_a_non_administrator_and_refuses_their_post(verified_client, operator):
    client = verified_client(operator)
    page = client.get(_change_url("llm.model"))
    assert page.status_code == 200
    assert 'name="reason"' not in page.content.decode()
    response = client.post(_change_url("llm.model"), {"value": "gpt-4o", "reason": "bigger"})
    assert response.status_code == 403
    assert not RuntimeSettingVersion.objects.exists()


def test_it_lets_a_non_administrator_with_the_permission_change_an_ordinary_setting(verified_client, operator):
    client = verified_client(operator)
    client.post(_change_url("features.image_understanding"), {"reason": "images cost too much"})
    assert config.get("features.image_understanding") is False


def test_it_rolls_back_in_one_step_from_the_admin(verified_client, administrator):
    v1 = setting_update(key="persona", value="You are Ada.", actor=administrator, reason="first")
    setting_update(key="persona", value="You are Bob.", actor=administrator, reason="second")
    client = verified_client(administrator)

    page = client.get(_rollback_url(v1))
    assert "You are Bob." in page.content.decode()
    response = client.post(_rollback_url(v1), {"reason": "Bob confused users"})

    assert response.status_code == 302
    assert config.get("persona") == "You are Ada."
    newest = RuntimeSettingVersion.objects.filter(setting__key="persona").first()
    assert (newest.number, newest.rolled_back_from, newest.reason) == (3, v1, "Bob confused users")


def test_it_leads_from_the_rollback_action_to_the_rollback_page(verified_client, administrator):
    v1 = setting_update(key="llm.temperature", value=0.2, actor=administrator, reason="calmer")
    response = verified_client(administrator).post(
        reverse("admin:core_runtimesettingversion_changelist"),
        {"action": "rollback_to_selected", "_selected_action": [v1.pk]},
    )
    assert response.status_code == 302
    assert response["Location"] == _rollback_url(v1)


def test_it_changes_nothing_on_a_rollback_without_a_reason(verified_client, administrator):
    v1 = setting_update(key="llm.temperature", value=0.2, actor=administrator, reason="calmer")
    setting_update(key="llm.temperature", value=0.9, actor=administrator, reason="livelier")
    response = verified_client(administrator).post(_rollback_url(v1), {"reason": ""})
    assert response.status_code == 200
    assert config.get("llm.temperature") == 0.9


def test_it_refuses_a_non_administrator_rolling_back_a_critical_setting_from_the_admin(
    verified_client, administrator, operator
):
    v1 = setting_update(key="llm.model", value="gpt-4o", actor=administrator, reason="bigger")
    setting_update(key="llm.model", value="gpt-4o-mini", actor=administrator, reason="cheaper")
    response = verified_client(operator).post(_rollback_url(v1), {"reason": "I liked it"})
    assert response.status_code == 403
    assert config.get("llm.model") == "gpt-4o-mini"


def test_it_shows_versions_read_only_in_the_admin(verified_client, administrator):
    v1 = setting_update(key="llm.temperature", value=0.2, actor=administrator, reason="calmer")
    client = verified_client(administrator)
    page = client.get(reverse("admin:core_runtimesettingversion_change", args=[v1.pk]))
    assert page.status_code == 200
    assert 'name="reason"' not in page.content.decode()
    response = client.post(reverse("admin:core_runtimesettingversion_delete", args=[v1.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert RuntimeSettingVersion.objects.filter(pk=v1.pk).exists()


def test_it_starts_the_reset_box_unticked_so_a_typed_value_is_saved(verified_client, administrator):
    page = verified_client(administrator).get(_change_url("llm.temperature")).content.decode()
    checkbox = (
        page.split('name="use_default"')[0].rsplit("<input", 1)[1] + page.split('name="use_default"')[1].split(">")[0]
    )
    assert "checked" not in checkbox


def test_it_shows_why_a_rollback_to_a_value_the_schema_no_longer_allows_is_refused(
    verified_client, administrator, settings
):
    old = setting_update(key="llm.model", value="gpt-4.1", actor=administrator, reason="try 4.1")
    setting_update(key="llm.model", value="gpt-4o-mini", actor=administrator, reason="cheaper")
    settings.LLM_ALLOWED_MODELS = ["gpt-4o-mini"]

    response = verified_client(administrator).post(_rollback_url(old), {"reason": "back to 4.1"})

    assert response.status_code == 200
    assert "llm.model must be one of: gpt-4o-mini" in response.content.decode()
    assert config.get("llm.model") == "gpt-4o-mini"


def _default_rollback_url(key):
    return reverse("admin:core_runtimesetting_rollback_default", args=[RuntimeSetting.objects.get(key=key).pk])


def test_it_shows_the_code_default_as_version_0_that_one_can_roll_back_to(verified_client, administrator):
    setting_update(key="llm.temperature", value=0.2, actor=administrator, reason="calmer")

    body = verified_client(administrator).get(_change_url("llm.temperature")).content.decode()

    assert "<td>v0</td>" in body and "the code default" in body
    assert f'href="{_default_rollback_url("llm.temperature")}"' in body


def test_it_rolls_back_to_version_0_from_the_admin(verified_client, administrator):
    setting_update(key="llm.temperature", value=0.2, actor=administrator, reason="calmer")
    client = verified_client(administrator)

    page = client.get(_default_rollback_url("llm.temperature"))
    response = client.post(_default_rollback_url("llm.temperature"), {"reason": "the default was better"})

    assert "back to the code default (version 0)" in page.content.decode()
    assert response.status_code == 302
    assert config.get("llm.temperature") == 0.7
    newest = RuntimeSettingVersion.objects.filter(setting__key="llm.temperature").first()
    assert (newest.number, newest.new_value, newest.rolled_back_to_default) == (2, None, True)
    history = client.get(_change_url("llm.temperature")).content.decode()
    assert "rolls back to v0" in history


def test_it_offers_no_rollback_to_the_current_version(verified_client, administrator):
    v1 = setting_update(key="llm.temperature", value=0.2, actor=administrator, reason="calmer")
    v2 = setting_update(key="llm.temperature", value=0.9, actor=administrator, reason="livelier")

    body = verified_client(administrator).get(_change_url("llm.temperature")).content.decode()

    assert f'href="{_rollback_url(v1)}"' in body
    assert f'href="{_rollback_url(v2)}"' not in body
    assert '<span class="ops-current">current</span>' in body


def test_it_offers_no_rollback_to_the_default_while_the_default_applies(verified_client, administrator):
    body = verified_client(administrator).get(_change_url("llm.temperature")).content.decode()

    assert "<td>v0</td>" in body
    assert _default_rollback_url("llm.temperature") not in body


def test_it_refuses_a_rollback_to_the_current_version_with_a_clear_message(verified_client, administrator):
    setting_update(key="persona", value="You are Ada.", actor=administrator, reason="first")
    v2 = setting_update(key="persona", value="You are Bob.", actor=administrator, reason="second")
    client = verified_client(administrator)

    shown = client.get(_rollback_url(v2), follow=True)
    posted = client.post(_rollback_url(v2), {"reason": "again"}, follow=True)

    for response in (shown, posted):
        assert response.redirect_chain == [(_change_url("persona"), 302)]
        assert "Version 2 is the current version of persona; there is nothing to roll back." in [
            str(m) for m in response.context["messages"]
        ]
    assert RuntimeSettingVersion.objects.filter(setting__key="persona").count() == 2


def test_it_refuses_a_rollback_to_an_older_version_with_the_current_value(verified_client, administrator):
    v1 = setting_update(key="persona", value="You are Ada.", actor=administrator, reason="first")
    setting_update(key="persona", value="You are Bob.", actor=administrator, reason="second")
    setting_rollback(version=v1, actor=administrator, reason="Ada again")
    client = verified_client(administrator)

    body = client.get(_change_url("persona")).content.decode()
    response = client.post(_rollback_url(v1), {"reason": "twice"}, follow=True)

    assert f'href="{_rollback_url(v1)}"' not in body and "same as current" in body
    assert "persona already has the value of version 1; there is nothing to roll back." in [
        str(m) for m in response.context["messages"]
    ]
    assert RuntimeSettingVersion.objects.filter(setting__key="persona").count() == 3


def test_it_refuses_a_rollback_to_the_default_while_the_default_applies(verified_client, administrator):
    response = verified_client(administrator).post(_default_rollback_url("persona"), {"reason": "nothing"}, follow=True)

    assert "persona already uses the code default (version 0); there is nothing to roll back." in [
        str(m) for m in response.context["messages"]
    ]
    assert not RuntimeSettingVersion.objects.exists()


def test_it_refuses_a_non_administrator_rolling_back_a_critical_setting_to_its_default(
    verified_client, administrator, operator
):
    setting_update(key="llm.model", value="gpt-4o", actor=administrator, reason="bigger")

    response = verified_client(operator).post(_default_rollback_url("llm.model"), {"reason": "cheaper"})

    assert response.status_code == 403
    assert config.get("llm.model") == "gpt-4o"
