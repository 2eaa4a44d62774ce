"""The built-in panels, on real rows and real metrics."""

import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import roles
from analytics.models import Event
from conversations.models import Conversation, LineUser, Message, WebhookEvent
from core.config.services import setting_update
from monitoring import multiprocess
from monitoring.dashboards.context import History, Samples, TickContext, quantile
from monitoring.dashboards.panels import analytics, campaigns, operations
from monitoring.dashboards.ticker import today_start
from monitoring.models import Alert
from monitoring.runtime_settings import price_key
from tests.conversations.events import SECRET, body_of, sign, text_event

pytestmark = pytest.mark.django_db


def _context(history: History | None = None) -> TickContext:
    history = history or History()
    samples = Samples.from_families(multiprocess.collect(), at=time.monotonic())
    history.add(samples)
    now = timezone.now()
    return TickContext(now=now, today_start=today_start(now), samples=samples, history=history)


def _webhook_event(event_type: str, *, received_at=None) -> WebhookEvent:
    return WebhookEvent.objects.create(
        webhook_event_id=uuid.uuid4().hex,
        content_digest=uuid.uuid4().hex,
        event_type=event_type,
        payload={},
        received_at=received_at or timezone.now(),
    )


def test_it_counts_todays_follows_and_blocks():
    _webhook_event("follow")
    _webhook_event("follow")
    _webhook_event("unfollow")
    _webhook_event("follow", received_at=timezone.now() - timedelta(days=2))

    assert operations.followers_today(_context()) == {"line_follows_today": 2, "line_blocks_today": 1}


def test_it_counts_open_alerts():
    Alert.objects.create(kind="a", severity="critical", message="x")
    Alert.objects.create(kind="b", severity="warning", message="y")
    Alert.objects.create(kind="c", severity="critical", message="z", acknowledged_at=timezone.now())
    Alert.objects.create(kind="d", severity="critical", message="gone", state=Alert.State.RESOLVED)
    Alert.objects.create(kind="e", severity="warning", message="waits", state=Alert.State.PENDING)

    assert operations.alerts(_context()) == {
        "alerts_open": 3,
        "alerts_open_critical": 2,
        "alerts_unacknowledged": 2,
        "alerts_pending": 1,
    }


def _assistant_message(conversation, *, model, prompt, completion, received_at=None):
    return Message.objects.create(
        conversation=conversation,
        webhook_event=_webhook_event("message", received_at=received_at),
        role=Message.Role.ASSISTANT,
        content="answer",
        model=model,
        prompt_tokens=prompt,
        completion_tokens=completion,
    )


def test_it_prices_todays_llm_tokens_per_model_with_the_runtime_setting(django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.test", "pw-pw-pw-pw-pw-1")
    setting_update(key=price_key("gpt-4o-mini", "prompt"), value=1.0, actor=admin, reason="contract price")
    setting_update(key=price_key("gpt-4o-mini", "completion"), value=2.0, actor=admin, reason="contract price")
    conversation = Conversation.objects.create(source_type="user", source_id="U1")
    _assistant_message(conversation, model="gpt-4o-mini-2024-07-18", prompt=1_000_000, completion=500_000)
    _assistant_message(conversation, model="gpt-4o", prompt=100_000, completion=0)
    _assistant_message(
        conversation, model="gpt-4o", prompt=9_000_000, completion=0, received_at=timezone.now() - timedelta(days=1)
    )

    data = operations.llm_today(_context())

    # 1M x $1 + 0.5M x $2 for the mini model, 0.1M x $2.50 (list price) for gpt-4o.
    assert data == {"llm_calls_today": 2, "llm_tokens_today": 1_600_000, "llm_cost_today_usd": 2.25}


def test_it_shows_webhook_traffic_and_ack_latency_from_real_posts(client, settings):
    settings.LINE_CHANNEL_SECRET = SECRET
    history = History()
    before = operations.webhook(_context(history))
    body = body_of(text_event("hi"), text_event("there"))
    time.sleep(0.6)

    assert (
        client.post(
            "/line/webhook", body, content_type="application/json", HTTP_X_LINE_SIGNATURE=sign(body)
        ).status_code
        == 200
    )
    after = operations.webhook(_context(history))

    assert after["webhook_events_total"] == before["webhook_events_total"] + 2
    assert after["webhook_events_per_second"] > 0
    assert 0 < after["webhook_ack_p50_ms"] <= after["webhook_ack_p99_ms"] <= 5000


def test_it_counts_errors_by_kind_over_the_window(client, settings):
    settings.LINE_CHANNEL_SECRET = SECRET
    history = History()
    _context(history)
    time.sleep(0.5)

    client.post("/line/webhook", b"{}", content_type="application/json", HTTP_X_LINE_SIGNATURE="forged")
    client.post("/line/webhook", b"{}", content_type="application/json", HTTP_X_LINE_SIGNATURE="forged")
    data = operations.errors(_context(history))

    assert data["errors.webhook_bad_signature"] == 2
    assert data["errors_5m_total"] >= 2


def test_it_reports_queue_depth_and_workers_as_numbers():
    data = operations.celery_queues(_context())

    assert data["celery_queue_depth"] >= 0
    assert data["celery_workers"] == 0


def test_it_counts_todays_campaigns_and_engagement():
    user = LineUser.objects.create(line_user_id="U" + "b" * 32)
    Event.objects.create(type=Event.Type.POSTBACK, line_user=user, campaign_id=7)
    Event.objects.create(type=Event.Type.LINK_CLICK, line_user=user, campaign_id=8)
    Event.objects.create(type=Event.Type.RICHMENU_TAP, line_user=user)
    Event.objects.create(type=Event.Type.POSTBACK, occurred_at=timezone.now() - timedelta(days=1), campaign_id=9)

    ctx = _context()
    assert campaigns.campaigns_today(ctx) == {"campaigns_active_today": 2}
    assert analytics.engagement_today(ctx) == {
        "postback_taps_today": 1,
        "richmenu_taps_today": 1,
        "link_clicks_today": 1,
    }


def test_it_counts_todays_conversations():
    user = LineUser.objects.create(line_user_id="U" + "c" * 32)
    conversation = Conversation.objects.create(source_type="user", source_id=user.line_user_id, user=user)
    for text in ("a", "b"):
        Message.objects.create(
            conversation=conversation,
            line_user=user,
            webhook_event=_webhook_event("message"),
            role=Message.Role.USER,
            content=text,
        )

    assert analytics.conversations_today(_context()) == {"user_messages_today": 2, "users_active_today": 1}


@pytest.mark.parametrize(
    ("q", "expected"),
    [(0.5, 1.0), (0.25, 0.5), (0.75, 1.5), (0.99, 1.98)],
)
def test_it_interpolates_the_quantile_within_a_bucket_as_prometheus_does(q, expected):
    # 2 observations up to 1, 2 more up to 2, none beyond.
    assert quantile(q, {1.0: 2.0, 2.0: 4.0, float("inf"): 4.0}) == pytest.approx(expected, abs=0.02)


def test_it_leaves_the_quantile_unknown_without_observations():
    assert quantile(0.5, {1.0: 0.0, float("inf"): 0.0}) is None


def test_it_makes_roles_the_permission_holders_of_the_dashboards():
    assert roles.ROLES[roles.ANALYST].permissions == ("monitoring.view_analytics_dashboard",)
