"""Campaign tests: real PostgreSQL and Redis, LINE as the in-thread double reached by the real SDK."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import LineUser
from core.redis import get_redis
from linesim.line.testing import running_line_double
from richmessages.campaigns import services, tasks
from richmessages.models import RichMessage, RichTemplate, RichTemplateVersion
from tests.redis_keys import delete_own_keys

FLEX = {
    "type": "flex",
    "altText": "Morning run",
    "contents": {
        "type": "bubble",
        "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "Good morning"}]},
    },
}


def line_id() -> str:
    return "U" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def line():
    with running_line_double() as handle:
        yield handle


@pytest.fixture(autouse=True)
def _line_settings(line, settings):
    # Changing LINE_* settings drops the cached client, so the next call goes to the double.
    settings.LINE_API_BASE_URL = line.base_url
    settings.LINE_DATA_API_BASE_URL = line.base_url
    settings.LINE_CHANNEL_ACCESS_TOKEN = line.access_token
    settings.LINE_API_RETRY_WAIT = 0.0
    settings.CAMPAIGN_TASK_QUEUE = ""
    line.control.reset()
    line.control.configure(monthlyQuota=0)


@pytest.fixture(autouse=True)
def _clean_bucket():
    delete_own_keys("campaigns:*", get_redis())


@pytest.fixture
def rich_message(db):
    return make_rich_message()


def make_rich_message(title: str = "Morning run") -> RichMessage:
    template = RichTemplate.objects.create(name=title, slug=f"t-{secrets.token_hex(4)}")
    version = RichTemplateVersion.objects.create(
        template=template,
        number=1,
        status=RichTemplateVersion.Status.APPROVED,
        background="rich/backgrounds/x.png",
        background_sha256="0" * 64,
        width=1040,
        height=1040,
        title_area={"x": 0, "y": 0, "width": 10, "height": 10},
        body_area={"x": 0, "y": 20, "width": 10, "height": 10},
    )
    return RichMessage.objects.create(
        template_version=version,
        language="en",
        title=title,
        body="Run",
        copy_source=RichMessage.CopySource.GIVEN,
        image="rich/composed/x.png",
        image_sha256="1" * 64,
        flex={**FLEX, "altText": title},
    )


def make_followers(count: int, **fields) -> list[LineUser]:
    now = timezone.now()
    defaults = {"followed_at": now - timedelta(days=30), "last_seen_at": now, "language": "en"}
    return LineUser.objects.bulk_create(
        [LineUser(line_user_id=line_id(), **{**defaults, **fields}) for _ in range(count)]
    )


@pytest.fixture
def followers(db, line):
    def make(count: int, *, on_line: bool = True, **fields) -> list[LineUser]:
        users = make_followers(count, **fields)
        if on_line:
            line.control.add_followers([user.line_user_id for user in users])
        return users

    return make


@pytest.fixture
def approved(editor, operator, rich_message, django_capture_on_commit_callbacks):
    """A campaign created by the editor, submitted and approved by the operator (work not yet run)."""

    def make(**values):
        values.setdefault("name", "Spring news")
        values.setdefault("audience", {"type": "all_followers"})
        if "variants" not in values:
            values.setdefault("rich_message", rich_message)
        campaign = services.campaign_create(author=editor, **values)
        services.campaign_submit(campaign=campaign, actor=editor)
        with django_capture_on_commit_callbacks(execute=False):
            return services.campaign_approve(campaign=campaign, approver=operator)

    return make


@pytest.fixture
def run_beat(django_capture_on_commit_callbacks):
    """Runs one round of the beat's campaign tasks, and everything they queue, in this process."""

    def run():
        with django_capture_on_commit_callbacks(execute=True):
            tasks.claim_due_sends()
        with django_capture_on_commit_callbacks(execute=True):
            tasks.release_held_recipients()
        with django_capture_on_commit_callbacks(execute=True):
            tasks.dispatch_step_messages()

    return run


def multicasts(line, status: int | None = 200) -> list[dict]:
    return line.control.requests(endpoint="multicast", status=status)


def delivered_to(line, user_id: str) -> list[dict]:
    return line.control.messages(user_id=user_id)
