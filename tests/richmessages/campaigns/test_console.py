"""Campaigns in the ops console: drafting, the four-eyes workflow, control, progress and the delivery list."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import AuditEvent
from monitoring import multiprocess
from monitoring.dashboards.context import History, Samples, TickContext
from monitoring.dashboards.panels import campaigns as campaign_panels
from monitoring.dashboards.ticker import today_start
from richmessages.campaigns import metrics, selectors, services
from richmessages.campaigns.models import Campaign, CampaignRecipient, CampaignSend

from .conftest import line_id, make_followers, make_rich_message

pytestmark = pytest.mark.django_db

CAMPAIGNS = "/admin/richmessages/campaign/"


def page(campaign: Campaign) -> str:
    return f"{CAMPAIGNS}{campaign.pk}/change/"


def action(campaign: Campaign, name: str) -> str:
    return f"{CAMPAIGNS}{campaign.pk}/do/{name}/"


def form(rich_message, **overrides) -> dict:
    data = {
        "name": "Spring news",
        "rich_message": str(rich_message.pk),
        "audience_type": "all_followers",
        "timezone": "Asia/Bangkok",
        "holdout_percent": "0",
        "cooldown": "on",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def a_draft(editor, rich_message, **values) -> Campaign:
    values.setdefault("name", "Spring news")
    values.setdefault("audience", {"type": "all_followers"})
    return services.campaign_create(author=editor, rich_message=rich_message, **values)


def in_review(editor, rich_message, **values) -> Campaign:
    campaign = a_draft(editor, rich_message, **values)
    return services.campaign_submit(campaign=campaign, actor=editor)


# --- drafting --------------------------------------------------------------------------------------------------
def test_it_drafts_a_campaign_from_the_console_form(verified_client, editor, rich_message):
    client = verified_client(editor)

    response = client.post(
        f"{CAMPAIGNS}add/",
        form(
            rich_message,
            audience_type="segment",
            segment_language="th, en",
            segment_active_within_days="30",
            send_at="2031-01-02T09:30",
            frequency_cap_day="2",
            quiet_hours_start="22:00",
            quiet_hours_end="07:00",
        ),
    )

    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == page(campaign)
    assert (campaign.status, campaign.author, campaign.rich_message) == ("draft", editor, rich_message)
    assert campaign.audience == {"type": "segment", "language": ["th", "en"], "active_within_days": 30}
    assert campaign.send_at.isoformat() == "2031-01-02T02:30:00+00:00"
    assert (campaign.frequency_cap_day, str(campaign.quiet_hours_start)) == (2, "22:00:00")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CAMPAIGN_CREATED, actor=editor).count() == 1
    assert "2 a day, no weekly cap" in client.get(page(campaign)).content.decode()


def test_it_takes_the_audience_from_an_uploaded_csv_and_reports_unknown_ids(verified_client, editor, rich_message):
    known = make_followers(2)
    unknown = line_id()
    csv = "line_user_id\n" + "\n".join([known[0].line_user_id, known[1].line_user_id, unknown]) + "\n"
    client = verified_client(editor)

    client.post(
        f"{CAMPAIGNS}add/",
        form(rich_message, audience_type="users", csv_file=SimpleUploadedFile("ids.csv", csv.encode(), "text/csv")),
    )

    campaign = Campaign.objects.get()
    assert campaign.audience["line_user_ids"] == [known[0].line_user_id, known[1].line_user_id, unknown]
    assert campaign.audience_report["unknown"] == [unknown]
    assert "1 unknown" in client.get(page(campaign)).content.decode()


def test_it_shows_a_bad_csv_on_its_field_and_saves_nothing(verified_client, editor, rich_message):
    client = verified_client(editor)

    response = client.post(
        f"{CAMPAIGNS}add/",
        form(rich_message, audience_type="users", csv_file=SimpleUploadedFile("ids.csv", b"not an id\nnor this\n")),
    )

    assert response.status_code == 200
    assert "row 2: nor this" in response.content.decode()
    assert not Campaign.objects.exists()


def test_it_shows_the_services_errors_against_the_fields_and_saves_nothing(verified_client, editor, rich_message):
    client = verified_client(editor)

    response = client.post(f"{CAMPAIGNS}add/", form(rich_message, quiet_hours_start="22:00", timezone="Mars/Base"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "give both ends of the quiet hours" in body
    assert "Mars/Base" in body and "errorlist" in body
    assert not Campaign.objects.exists()


def test_it_refuses_the_draft_form_to_an_analyst(verified_client, analyst):
    assert verified_client(analyst).get(f"{CAMPAIGNS}add/").status_code == 403


def test_it_edits_a_draft_through_the_service_and_audits_what_changed(verified_client, editor, rich_message):
    campaign = a_draft(editor, rich_message)
    client = verified_client(editor)
    assert 'value="Spring news"' in client.get(f"{CAMPAIGNS}{campaign.pk}/edit/").content.decode()

    client.post(f"{CAMPAIGNS}{campaign.pk}/edit/", form(rich_message, name="Summer news", timezone="UTC"))

    campaign.refresh_from_db()
    assert campaign.name == "Summer news"
    event = AuditEvent.objects.get(action=AuditEvent.Action.CAMPAIGN_UPDATED)
    assert event.details["changed"] == ["name"]


def test_it_returns_an_edited_scheduled_campaign_to_draft(verified_client, editor, operator, rich_message):
    campaign = in_review(editor, rich_message, send_at=timezone.now() + timedelta(days=2))
    services.campaign_approve(campaign=campaign, approver=operator)
    client = verified_client(editor)

    response = client.post(
        f"{CAMPAIGNS}{campaign.pk}/edit/",
        form(
            rich_message,
            name="Changed",
            timezone="UTC",
            send_at=(timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        ),
        follow=True,
    )

    campaign.refresh_from_db()
    assert (campaign.status, campaign.approved_by) == ("draft", None)
    assert "It is a draft again" in response.content.decode()


# --- the page and the workflow ---------------------------------------------------------------------------------
def test_it_shows_the_recipient_count_before_approval(verified_client, editor, rich_message):
    make_followers(7)
    make_followers(2, opted_out_at=timezone.now())
    campaign = a_draft(editor, rich_message)

    body = verified_client(editor).get(page(campaign)).content.decode()

    assert '<td data-estimate="recipients">7</td>' in body
    assert "Opted out (skipped)</th><td>2" in body


def test_it_submits_a_draft_for_review(verified_client, editor, rich_message):
    campaign = a_draft(editor, rich_message)

    verified_client(editor).post(action(campaign, "submit"))

    campaign.refresh_from_db()
    assert campaign.status == "in_review"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CAMPAIGN_SUBMITTED, actor=editor).exists()


def test_it_lets_a_second_user_approve_with_a_comment(verified_client, editor, operator, rich_message):
    campaign = in_review(editor, rich_message, send_at=timezone.now() + timedelta(days=1))
    client = verified_client(operator)
    assert 'data-action="approve"' in client.get(page(campaign)).content.decode()

    client.post(action(campaign, "approve"), {"comment": "Looks right"})

    campaign.refresh_from_db()
    assert (campaign.status, campaign.approved_by, campaign.review_comment) == ("scheduled", operator, "Looks right")


def test_it_hides_approve_from_the_author_and_refuses_it_when_posted(verified_client, administrator, rich_message):
    campaign = in_review(administrator, rich_message)
    client = verified_client(administrator)

    body = client.get(page(campaign)).content.decode()
    response = client.post(action(campaign, "approve"), follow=True)

    assert 'data-action="approve"' not in body and "someone else must approve it" in body
    assert "You wrote this campaign; someone else must approve it." in response.content.decode()
    campaign.refresh_from_db()
    assert (campaign.status, campaign.approved_by) == ("in_review", None)


def test_it_shows_no_review_buttons_to_a_content_editor(verified_client, editor, second_editor, rich_message):
    campaign = in_review(editor, rich_message)

    body = verified_client(second_editor).get(page(campaign)).content.decode()

    assert 'data-action="approve"' not in body and 'data-action="reject"' not in body


def test_it_sends_back_with_a_comment_and_requires_one(verified_client, editor, operator, rich_message):
    campaign = in_review(editor, rich_message)
    client = verified_client(operator)

    refused = client.post(action(campaign, "reject"), {"comment": " "}, follow=True)
    campaign.refresh_from_db()
    assert campaign.status == "in_review" and "Say what should change." in refused.content.decode()

    client.post(action(campaign, "reject"), {"comment": "Wrong picture"})
    campaign.refresh_from_db()
    assert (campaign.status, campaign.review_comment) == ("draft", "Wrong picture")
    assert "Review comment: Wrong picture" in verified_client(editor).get(page(campaign)).content.decode()


def test_it_pauses_resumes_and_cancels(verified_client, editor, operator, rich_message):
    campaign = in_review(editor, rich_message, send_at=timezone.now() + timedelta(days=1))
    services.campaign_approve(campaign=campaign, approver=operator)
    client = verified_client(operator)

    statuses = []
    for name in ("pause", "resume", "cancel"):
        client.post(action(campaign, name))
        campaign.refresh_from_db()
        statuses.append(campaign.status)

    assert statuses == ["paused", "scheduled", "cancelled"]
    assert 'data-action="' not in client.get(page(campaign)).content.decode()


def test_it_refuses_an_action_the_status_does_not_allow(verified_client, editor, rich_message):
    campaign = a_draft(editor, rich_message)

    response = verified_client(editor).post(action(campaign, "resume"), follow=True)

    assert "only a paused one can be resumed" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == "draft"


def test_it_answers_404_for_an_unknown_action(verified_client, editor, rich_message):
    campaign = a_draft(editor, rich_message)

    assert verified_client(editor).post(action(campaign, "launch")).status_code == 404


# --- delivery, progress, the counter -----------------------------------------------------------------------------
def test_it_lists_each_recipient_paginated_and_filtered(line, followers, approved, run_beat, verified_client, operator):
    users = followers(60)
    campaign = approved(frequency_cap_day=5)
    run_beat()
    CampaignRecipient.objects.filter(line_user=users[0]).update(status="skipped", reason="opted_out")
    client = verified_client(operator)
    url = f"{CAMPAIGNS}{campaign.pk}/recipients/"

    first = client.get(url).content.decode()
    second = client.get(url, {"page": 2}).content.decode()
    skipped = client.get(url, {"status": "skipped", "reason": "opted_out"}).content.decode()

    assert "60 recipients." in first and "page 1 of 2" in first and first.count('data-status="sent"') == 49
    assert second.count('data-status="sent"') == 10
    assert "1 recipient." in skipped and users[0].line_user_id in skipped


def test_it_reports_campaigns_in_flight_with_each_ones_progress(editor, operator, rich_message):
    campaign = in_review(editor, rich_message)
    services.campaign_approve(campaign=campaign, approver=operator)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    CampaignSend.objects.filter(campaign=campaign).update(status="sending", recipients=1000, sent=500, skipped=3)
    done = in_review(editor, rich_message, name="Done earlier")
    services.campaign_approve(campaign=done, approver=operator)
    Campaign.objects.filter(pk=done.pk).update(status=Campaign.Status.SENT)
    CampaignSend.objects.filter(campaign=done).update(status="done", finished_at=timezone.now() - timedelta(hours=2))

    summary = campaign_panels.campaigns_in_flight(None)
    rows = campaign_panels.campaign_progress(None)

    assert summary == {
        "campaigns_in_flight": 1,
        "campaigns_paused": 0,
        "campaign_recipients_in_flight": 1000,
        "campaign_sent_in_flight": 500,
    }
    assert rows[selectors.progress_key(campaign.pk, "Spring news", "sent")] == 500
    assert rows[selectors.progress_key(campaign.pk, "Spring news", "skipped")] == 3
    assert not any(f"#{done.pk} " in key for key in rows)


def test_it_binds_the_live_progress_keys_on_the_page_of_a_campaign_in_flight(
    verified_client, editor, operator, rich_message
):
    campaign = in_review(editor, rich_message)
    services.campaign_approve(campaign=campaign, approver=operator)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)

    body = verified_client(operator).get(page(campaign)).content.decode()

    assert 'data-socket="/ws/dashboards/campaigns/"' in body
    assert f'data-metric="{selectors.progress_key(campaign.pk, "Spring news", "sent")}"' in body
    assert "<script>" not in body


def test_it_counts_campaign_sends_once_per_recipient(line, followers, approved, run_beat):
    followers(700)
    before = metrics.CAMPAIGN_SENDS.labels(method="multicast")._value.get()
    approved(frequency_cap_day=5)

    run_beat()

    assert metrics.CAMPAIGN_SENDS.labels(method="multicast")._value.get() - before == 700


def test_it_shows_the_campaign_send_rate_on_the_dashboards(line, followers, approved, run_beat):
    history = History()
    before = campaign_panels.campaign_send_rate(_context(history))
    followers(40)
    approved(frequency_cap_day=5)
    time.sleep(0.6)

    run_beat()
    after = campaign_panels.campaign_send_rate(_context(history))

    assert after["campaign_messages_sent_total"] == before["campaign_messages_sent_total"] + 40
    assert after["campaign_sends_per_second"] > 0


def _context(history: History) -> TickContext:
    samples = Samples.from_families(multiprocess.collect(), at=time.monotonic())
    history.add(samples)
    now = timezone.now()
    return TickContext(now=now, today_start=today_start(now), samples=samples, history=history)


def test_it_prefills_the_edit_form_of_a_segment_and_summarises_it_on_the_page(verified_client, editor, rich_message):
    audience = {
        "type": "segment",
        "language": ["th"],
        "tags": ["vip"],
        "followed_after": "2030-01-01",
        "engaged_with_campaign": 7,
        "engaged": False,
    }
    campaign = a_draft(editor, rich_message, audience=audience, quiet_hours_start="22:00", quiet_hours_end="07:00")
    client = verified_client(editor)

    form_page = client.get(f"{CAMPAIGNS}{campaign.pk}/edit/").content.decode()
    body = client.get(page(campaign)).content.decode()

    assert 'value="th"' in form_page and 'value="vip"' in form_page and 'value="2030-01-01"' in form_page
    assert '<option value="no" selected>' in form_page
    assert "Segment: language th; followed after 2030-01-01; tags vip; did not engage with campaign 7" in body
    assert "22:00 to 07:00 local time" in body


def test_it_keeps_a_narrowcast_audience_set_through_the_api(verified_client, editor, rich_message):
    # An OR and a NOT: more than the narrowcast fields can express, so the form offers to keep it as it is.
    audience = {
        "type": "narrowcast",
        "audience_group_ids": [7],
        "exclude_audience_group_ids": [],
        "demographic": {
            "type": "operator",
            "or": [
                {"type": "gender", "oneOf": ["female"]},
                {"type": "operator", "not": {"type": "age", "lt": "age_20"}},
            ],
        },
    }
    campaign = a_draft(editor, rich_message, audience=audience)
    client = verified_client(editor)

    shown = client.get(f"{CAMPAIGNS}{campaign.pk}/edit/").content.decode()
    client.post(
        f"{CAMPAIGNS}{campaign.pk}/edit/",
        form(rich_message, name="Renamed", audience_type="narrowcast_as_set", timezone="UTC", cooldown=None),
    )

    assert '<option value="narrowcast_as_set" selected>LINE narrowcast (as set through the API)</option>' in shown
    campaign.refresh_from_db()
    assert campaign.name == "Renamed" and campaign.audience == audience
    body = client.get(page(campaign)).content.decode()
    assert "LINE chooses the recipients): members of LINE audiences 7; gender female or not aged less than 20" in body


def test_it_does_not_edit_a_campaign_that_is_sending(verified_client, editor, operator, rich_message):
    campaign = in_review(editor, rich_message)
    services.campaign_approve(campaign=campaign, approver=operator)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)

    response = verified_client(editor).post(
        f"{CAMPAIGNS}{campaign.pk}/edit/", form(rich_message, name="Too late"), follow=True
    )

    assert "it cannot be edited" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.name == "Spring news"


def test_it_refuses_the_edit_form_to_an_operator(verified_client, editor, operator, rich_message):
    campaign = a_draft(editor, rich_message)

    assert verified_client(operator).get(f"{CAMPAIGNS}{campaign.pk}/edit/").status_code == 403


def test_it_says_when_an_edit_changes_nothing(verified_client, editor, rich_message):
    campaign = a_draft(editor, rich_message, timezone="Asia/Bangkok")

    response = verified_client(editor).post(f"{CAMPAIGNS}{campaign.pk}/edit/", form(rich_message), follow=True)

    assert "Nothing changed." in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CAMPAIGN_UPDATED).exists()


def test_it_warns_that_one_message_replaces_the_variants_of_an_ab_test(verified_client, editor, rich_message):
    other = make_rich_message("Evening run")
    campaign = services.campaign_create(
        author=editor,
        name="A/B",
        audience={"type": "all_followers"},
        variants=[{"name": "a", "rich_message": rich_message, "weight": 1}, {"name": "b", "rich_message": other}],
    )

    body = verified_client(editor).get(f"{CAMPAIGNS}{campaign.pk}/edit/").content.decode()

    assert "This campaign is an A/B test (a, b)" in body
