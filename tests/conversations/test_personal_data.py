"""Personal-data rights: export everything held about a LINE user, erase it without a trace, both audited."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts import audit, roles
from accounts.models import AuditEvent
from analytics.models import Event
from analytics.services import event_record
from conversations.line_users import line_user_set_language
from conversations.models import Conversation, LineUser, Message, WebhookEvent
from conversations.privacy import line_user_erase, line_user_export
from core import personal_data
from core.errors import PermissionDeniedError, ValidationError
from core.redis import get_redis
from monitoring.models import Alert
from richmessages.campaigns.models import Campaign, StepEnrolment
from richmessages.richmenu_models import RichMenuUserLink

pytestmark = pytest.mark.django_db
USER = "U" + "1" * 32
OTHER = "U" + "2" * 32
GROUP = "C" + "3" * 32
SECRET_TEXT = "my phone is 0812345678"


def _staff(django_user_model, name: str, role: str):
    user = django_user_model.objects.create_user(name, password="a-long-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return django_user_model.objects.get(pk=user.pk)


@pytest.fixture
def admin_user(django_user_model):
    return _staff(django_user_model, "erin", roles.ADMINISTRATOR)


@pytest.fixture
def operator(django_user_model):
    return _staff(django_user_model, "otto", roles.OPERATOR)


@pytest.fixture
def analyst(django_user_model):
    return _staff(django_user_model, "anna", roles.ANALYST)


@pytest.fixture
def history(post_events, events):
    """A user with a 1:1 chat, words in a group, a mention by someone else, and rows in every other app."""
    post_events(events.of("follow", user_id=USER))
    post_events(events.text(SECRET_TEXT, user_id=USER))
    post_events(events.text("/bot hello all", source={"type": "group", "groupId": GROUP, "userId": USER}))
    post_events(
        events.text(
            "@friend see this",
            user_id=OTHER,
            mention={"mentionees": [{"index": 0, "length": 7, "type": "user", "userId": USER}]},
        )
    )
    user = LineUser.objects.get(line_user_id=USER)
    event_record(type=Event.Type.POSTBACK, line_user=user, button="like", props={"who": USER})
    RichMenuUserLink.objects.create(line_user=user, menu=None, line_rich_menu_id="richmenu-x")
    campaign = Campaign.objects.create(name="List", audience={"type": "uploaded", "line_user_ids": [USER, OTHER]})
    StepEnrolment.objects.create(campaign=campaign, line_user=user, due_at=timezone.now())
    audit.record(action=AuditEvent.Action.TEST_MESSAGE_SENT, target=f"line_user:{USER}", details={"to": USER})
    Alert.objects.create(kind="test", message=f"odd event from {USER}", details={"user": USER})
    return user


def _redis_values(manager) -> dict[bytes, bytes]:
    """Every key of this run in Redis with its value as bytes, whatever the key's type."""
    client = manager.client
    found = {}
    for key in client.scan_iter(match=manager.pattern("*")):
        kind = client.type(key)
        if kind == b"string":
            value = client.get(key) or b""
        elif kind == b"hash":
            value = b" ".join(k + b"=" + v for k, v in client.hgetall(key).items())
        elif kind == b"list":
            value = b" ".join(client.lrange(key, 0, -1))
        elif kind == b"set":
            value = b" ".join(client.smembers(key))
        elif kind == b"zset":
            value = b" ".join(client.zrange(key, 0, -1))
        else:
            value = b""
        found[key] = value
    return found


def _traces_in_redis(needle: str) -> list[bytes]:
    raw = needle.encode()
    return [key for key, value in _redis_values(get_redis()).items() if raw in key or raw in value]


def test_it_finds_the_user_everywhere_before_the_erasure(history):
    tables = {trace.model for trace in personal_data.traces(USER).traces}

    assert {"conversations.LineUser", "conversations.WebhookEvent", "richmessages.Campaign"} <= tables
    assert {"accounts.AuditEvent", "monitoring.Alert", "analytics.Event"} <= tables
    assert _traces_in_redis(SECRET_TEXT), "the conversation context should hold the user's words"


def test_it_leaves_no_trace_of_the_user_in_any_table_or_in_redis(history, admin_user):
    line_user_erase(line_user=history, actor=admin_user)

    assert personal_data.traces(USER).traces == []
    assert personal_data.traces(SECRET_TEXT).traces == []
    assert _traces_in_redis(USER) == []
    assert _traces_in_redis(SECRET_TEXT) == []


def test_it_keeps_the_counts_the_aggregates_need(history, admin_user):
    users, events = LineUser.objects.count(), Event.objects.count()

    line_user_erase(line_user=history, actor=admin_user)

    assert LineUser.objects.count() == users
    assert Event.objects.count() == events
    assert Event.objects.filter(button="like", line_user__isnull=True).count() == 1


def test_it_leaves_other_users_data_alone(history, admin_user):
    line_user_erase(line_user=history, actor=admin_user)

    assert Message.objects.filter(conversation__source_id=OTHER, content="@friend see this").exists()
    assert Campaign.objects.get().audience["line_user_ids"][1] == OTHER
    assert WebhookEvent.objects.filter(line_user_id=OTHER).count() == 1


def test_it_deletes_the_users_rows_and_makes_a_tombstone(history, admin_user):
    line_user_set_language(user=history, language="th")
    erasure = line_user_erase(line_user=history, actor=admin_user)

    history.refresh_from_db()
    assert history.line_user_id == erasure.replacement and history.display_name == ""
    assert (history.language, history.language_chosen) == ("", False)
    assert history.status == LineUser.Status.INACTIVE and history.opted_out_at is not None
    assert not Conversation.objects.filter(source_type="user", source_id=USER).exists()
    assert not RichMenuUserLink.objects.exists() and not StepEnrolment.objects.exists()


def test_it_audits_the_erasure_without_naming_the_line_id(history, admin_user):
    line_user_erase(line_user=history, actor=admin_user)

    entry = AuditEvent.objects.get(action=AuditEvent.Action.PERSONAL_DATA_ERASED)
    assert entry.actor == admin_user and entry.target == f"line_user:#{history.pk}"
    assert entry.details["counts"]["conversations"]["messages"] >= 2


def test_it_reports_remaining_traces_when_asked_to_verify(history, admin_user):
    assert line_user_erase(line_user=history, actor=admin_user, verify=True).remaining == []


def test_it_refuses_to_erase_for_an_operator(history, operator):
    with pytest.raises(PermissionDeniedError):
        line_user_erase(line_user=history, actor=operator)

    assert LineUser.objects.filter(line_user_id=USER).exists()
    assert Message.objects.filter(content=SECRET_TEXT).exists()


def test_it_refuses_to_erase_a_user_twice(history, admin_user):
    line_user_erase(line_user=history, actor=admin_user)

    with pytest.raises(ValidationError):
        line_user_erase(line_user=LineUser.objects.get(pk=history.pk), actor=admin_user)


def test_it_exports_everything_held_about_the_user_for_an_operator(history, operator):
    data = line_user_export(line_user=history, actor=operator)

    assert data["conversations"]["line_user"]["line_user_id"] == USER
    assert data["conversations"]["line_user"]["language_chosen"] is False
    assert SECRET_TEXT in [m["content"] for m in data["conversations"]["messages"]]
    assert "hello all" in " ".join(m["content"] for m in data["conversations"]["messages"])
    # The worker recorded the follow and the user's two messages (1:1 and group); the tap was recorded above.
    assert [(e["type"], e["button"], e["props"].get("source_type")) for e in data["analytics"]["events"]] == [
        ("follow", "", "user"),
        ("message", "", "user"),
        ("message", "", "group"),
        ("postback", "like", None),
    ]
    assert data["richmessages"]["step_enrolments"][0]["status"] == "waiting"
    assert any(SECRET_TEXT in turn[1] for part in data["conversations"]["context"] for turn in part["turns"])
    json.dumps(data)


def test_it_audits_the_export(history, operator):
    line_user_export(line_user=history, actor=operator)

    entry = AuditEvent.objects.get(action=AuditEvent.Action.PERSONAL_DATA_EXPORTED)
    assert entry.actor == operator and entry.target == f"line_user:#{history.pk}"


def test_it_refuses_the_export_to_an_analyst(history, analyst):
    with pytest.raises(PermissionDeniedError):
        line_user_export(line_user=history, actor=analyst)

    assert not AuditEvent.objects.filter(action=AuditEvent.Action.PERSONAL_DATA_EXPORTED).exists()


def test_it_exports_with_the_command(history, tmp_path):
    out = tmp_path / "export.json"

    call_command("export_line_user", USER, output=str(out))

    assert json.loads(out.read_text())["conversations"]["line_user"]["line_user_id"] == USER


def test_it_erases_with_the_command_only_when_confirmed(history):
    with pytest.raises(CommandError, match="--yes"):
        call_command("erase_line_user", USER)
    assert LineUser.objects.filter(line_user_id=USER).exists()

    call_command("erase_line_user", USER, yes=True, verify=True)

    assert not LineUser.objects.filter(line_user_id=USER).exists()


def test_it_says_clearly_when_the_command_is_given_an_unknown_user(db):
    with pytest.raises(CommandError, match="No LINE user"):
        call_command("erase_line_user", "Unobody", yes=True)


def test_it_erases_by_the_key_the_audit_log_names(history):
    call_command("erase_line_user", f"#{history.pk}", yes=True)

    assert LineUser.objects.get(pk=history.pk).line_user_id.startswith("erased:")
