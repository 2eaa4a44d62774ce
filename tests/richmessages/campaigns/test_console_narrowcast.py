"""LINE narrowcast audiences built in the ops console's campaign form: to the API's audience and back."""

from __future__ import annotations

import pytest

from richmessages.campaigns.models import Campaign

from .test_console import CAMPAIGNS, a_draft, form, page

pytestmark = pytest.mark.django_db

FULL = {
    "type": "narrowcast",
    "audience_group_ids": [101, 102],
    "exclude_audience_group_ids": [103],
    "demographic": {
        "type": "operator",
        "and": [
            {"type": "gender", "oneOf": ["female"]},
            {"type": "appType", "oneOf": ["ios", "android"]},
            {"type": "age", "gte": "age_20", "lt": "age_35"},
            {"type": "area", "oneOf": ["jp_13", "th_01"]},
            {"type": "subscriptionPeriod", "gte": "day_30", "lt": "day_365"},
        ],
    },
    "limit": 5000,
}


def narrowcast_form(rich_message, **overrides) -> dict:
    values = {
        "audience_type": "narrowcast",
        "narrowcast_audience_ids": "101, 102",
        "narrowcast_exclude_audience_ids": "103",
        "narrowcast_genders": ["female"],
        "narrowcast_app_types": ["ios", "android"],
        "narrowcast_age_from": "age_20",
        "narrowcast_age_to": "age_35",
        "narrowcast_areas": "jp_13, TH_01",
        "narrowcast_friends_at_least": "day_30",
        "narrowcast_friends_less_than": "day_365",
        "narrowcast_limit": "5000",
        "cooldown": None,
    }
    values.update(overrides)
    return form(rich_message, **values)


def errors_of(response) -> dict:
    return response.context["adminform"].form.errors


def test_it_drafts_a_narrowcast_campaign_from_the_console_form(verified_client, editor, rich_message):
    client = verified_client(editor)

    response = client.post(f"{CAMPAIGNS}add/", narrowcast_form(rich_message))

    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == page(campaign)
    assert campaign.audience == FULL
    assert (
        "LINE narrowcast (LINE chooses the recipients): members of LINE audiences 101, 102; not in LINE audiences "
        "103; gender female and app iOS or Android and aged 20 to below 35 and in area jp_13 or th_01 and friends "
        "for 30 to below 365 days; at most 5,000 recipients"
    ) in client.get(page(campaign)).content.decode()


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"narrowcast_genders": ["male"]},
            {"demographic": {"type": "gender", "oneOf": ["male"]}},
        ),
        ({}, {}),
    ],
    ids=["one filter", "no filter"],
)
def test_it_stores_one_filter_as_itself_and_no_filter_as_no_demographic(
    verified_client, editor, rich_message, fields, expected
):
    empty = dict.fromkeys((name for name in narrowcast_form(rich_message) if name.startswith("narrowcast_")), None)

    verified_client(editor).post(f"{CAMPAIGNS}add/", narrowcast_form(rich_message, **{**empty, **fields}))

    assert Campaign.objects.get().audience == {
        "type": "narrowcast",
        "audience_group_ids": [],
        "exclude_audience_group_ids": [],
        **expected,
    }


def test_it_shows_audience_ids_that_are_not_numbers_on_their_field_and_saves_nothing(
    verified_client, editor, rich_message
):
    response = verified_client(editor).post(
        f"{CAMPAIGNS}add/", narrowcast_form(rich_message, narrowcast_audience_ids="12, abc")
    )

    assert response.status_code == 200
    assert errors_of(response)["narrowcast_audience_ids"] == ["Not LINE audience ids (numbers): abc"]
    assert not Campaign.objects.exists()


def test_it_shows_more_than_ten_audience_ids_on_their_field_and_saves_nothing(verified_client, editor, rich_message):
    ids = ", ".join(str(number) for number in range(1, 12))

    response = verified_client(editor).post(
        f"{CAMPAIGNS}add/", narrowcast_form(rich_message, narrowcast_exclude_audience_ids=ids)
    )

    assert response.status_code == 200
    assert errors_of(response)["narrowcast_exclude_audience_ids"] == ["must be a list of at most 10 LINE audience ids"]
    assert not Campaign.objects.exists()


def test_it_shows_an_age_from_not_below_the_age_to_on_its_field_and_saves_nothing(
    verified_client, editor, rich_message
):
    response = verified_client(editor).post(
        f"{CAMPAIGNS}add/", narrowcast_form(rich_message, narrowcast_age_from="age_40", narrowcast_age_to="age_20")
    )

    assert response.status_code == 200
    assert errors_of(response)["narrowcast_age_from"] == ["age's gte (age_40) must be below its lt (age_20)"]
    assert not Campaign.objects.exists()


def test_it_shows_a_bad_area_code_on_the_areas_field_and_saves_nothing(verified_client, editor, rich_message):
    response = verified_client(editor).post(
        f"{CAMPAIGNS}add/", narrowcast_form(rich_message, narrowcast_genders=[], narrowcast_areas="tokyo")
    )

    assert response.status_code == 200
    assert "LINE area codes such as jp_13" in errors_of(response)["narrowcast_areas"][0]
    assert not Campaign.objects.exists()


def test_it_ignores_the_narrowcast_fields_for_another_audience(verified_client, editor, rich_message):
    verified_client(editor).post(
        f"{CAMPAIGNS}add/", narrowcast_form(rich_message, audience_type="all_followers", narrowcast_audience_ids="x")
    )

    assert Campaign.objects.get().audience == {"type": "all_followers"}


def test_it_prefills_the_narrowcast_fields_and_round_trips_an_edit(verified_client, editor, rich_message):
    campaign = a_draft(editor, rich_message, audience=FULL, cooldown=False)
    client = verified_client(editor)

    shown = client.get(f"{CAMPAIGNS}{campaign.pk}/edit/")
    client.post(
        f"{CAMPAIGNS}{campaign.pk}/edit/",
        narrowcast_form(rich_message, timezone="UTC", narrowcast_areas="jp_13, th_01", narrowcast_limit="800"),
    )

    body = shown.content.decode()
    assert '<option value="narrowcast" selected>' in body and "as set through the API" not in body
    assert 'value="101, 102"' in body and 'value="jp_13, th_01"' in body
    assert 'value="female" id="id_narrowcast_genders_1" checked' in body
    assert '<option value="age_35" selected>35</option>' in body
    assert '<option value="day_365" selected>365 days</option>' in body
    campaign.refresh_from_db()
    assert campaign.audience == {**FULL, "limit": 800}
