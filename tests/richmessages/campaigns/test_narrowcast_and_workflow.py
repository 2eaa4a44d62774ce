"""Narrowcast campaigns (LINE chooses, LINE's minimums as clear errors) and the audited four-eyes workflow."""

from __future__ import annotations

import pytest

from accounts.models import AuditEvent
from core.errors import ConflictError, PermissionDeniedError, ValidationError
from richmessages.campaigns import narrowcast, services
from richmessages.campaigns.models import Campaign, CampaignSend
from richmessages.campaigns.selectors import campaign_counts

from .conftest import line_id, make_followers

pytestmark = pytest.mark.django_db


def audience_group(line, size: int) -> int:
    from core.line.client import get_line_client

    return get_line_client().create_audience_group("test", [line_id() for _ in range(size)])


def run_narrowcast(run_beat, campaign):
    run_beat()
    send = CampaignSend.objects.get(campaign=campaign)
    while not narrowcast.narrowcast_poll(send.pk):
        pass


def test_it_sends_a_narrowcast_campaign_once_and_follows_its_progress(line, approved, run_beat):
    users = make_followers(3)
    line.control.add_followers([user.line_user_id for user in users])
    campaign = approved(audience={"type": "narrowcast"})

    run_narrowcast(run_beat, campaign)

    assert len(line.control.requests(endpoint="narrowcast", status=202)) == 1
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT
    assert campaign_counts(campaign)["sent"] == 3


def test_it_excludes_users_who_opted_out_from_a_narrowcast(line, approved, run_beat):
    users = make_followers(3)
    line.control.add_followers([user.line_user_id for user in users])
    type(users[0]).objects.filter(pk=users[0].pk).update(opted_out_at="2030-01-01T00:00:00Z")
    campaign = approved(audience={"type": "narrowcast"})

    run_beat()

    body = line.control.requests(endpoint="narrowcast")[0]["body"]
    assert body["recipient"]["type"] == "operator" and "not" in body["recipient"]
    assert CampaignSend.objects.get(campaign=campaign).line_audience_group_id is not None


def test_it_refuses_submitting_a_narrowcast_with_an_audience_under_50(line, editor, rich_message):
    group = audience_group(line, 20)
    campaign = services.campaign_create(
        author=editor,
        name="few",
        rich_message=rich_message,
        audience={"type": "narrowcast", "audience_group_ids": [group]},
    )

    with pytest.raises(ValidationError) as error:
        services.campaign_submit(campaign=campaign, actor=editor)

    assert "at least 50" in error.value.details["audience.audience_group_ids"][0]


def test_it_refuses_submitting_a_demographic_narrowcast_under_100_followers(line, editor, rich_message):
    make_followers(10)
    campaign = services.campaign_create(
        author=editor,
        name="women",
        rich_message=rich_message,
        audience={"type": "narrowcast", "demographic": {"type": "gender", "oneOf": ["female"]}},
    )

    with pytest.raises(ValidationError) as error:
        services.campaign_submit(campaign=campaign, actor=editor)

    assert "at least 100" in error.value.details["audience.demographic"][0]


def test_it_fails_the_campaign_with_a_clear_reason_when_line_refuses_a_narrowcast(line, approved, run_beat):
    make_followers(120)
    line.control.add_followers([line_id() for _ in range(50)])  # LINE reaches fewer than 100
    campaign = approved(audience={"type": "narrowcast", "demographic": {"type": "gender", "oneOf": ["male"]}})

    run_narrowcast(run_beat, campaign)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.FAILED
    assert "targeted reach of at least 100" in campaign.failure_reason


def test_it_audits_every_step_of_the_workflow(editor, operator, rich_message):
    campaign = services.campaign_create(
        author=editor, name="n", rich_message=rich_message, audience={"type": "all_followers"}
    )
    services.campaign_submit(campaign=campaign, actor=editor)
    services.campaign_reject(campaign=campaign, approver=operator, comment="shorter title")
    services.campaign_update(campaign=campaign, changes={"name": "m"}, actor=editor)
    services.campaign_submit(campaign=campaign, actor=editor)
    services.campaign_approve(campaign=campaign, approver=operator)
    services.campaign_pause(campaign=campaign, actor=operator)
    services.campaign_resume(campaign=campaign, actor=operator)
    services.campaign_cancel(campaign=campaign, actor=operator)

    actions = list(
        AuditEvent.objects.filter(target=f"campaign:{campaign.pk}").order_by("pk").values_list("action", flat=True)
    )
    assert actions == [
        "campaign_created",
        "campaign_submitted",
        "campaign_rejected",
        "campaign_updated",
        "campaign_submitted",
        "campaign_approved",
        "campaign_paused",
        "campaign_resumed",
        "campaign_cancelled",
    ]


def test_it_refuses_the_author_approving_even_as_an_approver(administrator, rich_message):
    campaign = services.campaign_create(
        author=administrator, name="n", rich_message=rich_message, audience={"type": "all_followers"}
    )
    services.campaign_submit(campaign=campaign, actor=administrator)

    with pytest.raises(PermissionDeniedError):
        services.campaign_approve(campaign=campaign, approver=administrator)


def test_it_refuses_an_analyst_creating_campaigns(analyst, rich_message):
    with pytest.raises(PermissionDeniedError):
        services.campaign_create(
            author=analyst, name="n", rich_message=rich_message, audience={"type": "all_followers"}
        )


def test_it_refuses_editing_a_sending_campaign(approved, run_beat, editor):
    campaign = approved()
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)

    with pytest.raises(ConflictError):
        services.campaign_update(campaign=campaign, changes={"name": "x"}, actor=editor)


def test_it_gives_approve_campaign_to_operators_and_not_to_editors(operator, editor):
    assert operator.has_perm("richmessages.approve_campaign")
    assert not editor.has_perm("richmessages.approve_campaign")
    assert editor.has_perm("richmessages.add_campaign")
