"""Profiles, groups and rooms, message content, rich menus, insight and webhook settings via the real SDK."""

import io

import pytest
from linebot.v3.insight import ApiClient as InsightApiClient
from linebot.v3.insight import Configuration as InsightConfiguration
from linebot.v3.insight import Insight
from linebot.v3.insight.exceptions import ApiException as InsightApiException
from linebot.v3.messaging import (
    CreateRichMenuAliasRequest,
    MarkMessagesAsReadByTokenRequest,
    PostbackAction,
    PushMessageRequest,
    RichMenuArea,
    RichMenuBounds,
    RichMenuRequest,
    RichMenuSize,
    SetWebhookEndpointRequest,
    TextMessage,
    UpdateRichMenuAliasRequest,
)
from linebot.v3.messaging.exceptions import ApiException
from PIL import Image

from linesim.line.messaging import line_day
from linesim.line.webhook import BLANK_PNG

USER = "U" + "4" * 32
GROUP = "C" + "5" * 32
ROOM = "R" + "6" * 32


def test_it_returns_the_profile_of_a_known_user(line, api):
    line.control.add_user(USER, "Aiko", pictureUrl="https://example.com/a.png", language="ja")

    profile = api.get_profile(USER)

    assert (profile.display_name, profile.user_id, profile.language) == ("Aiko", USER, "ja")


def test_it_answers_404_for_an_unknown_user(api):
    with pytest.raises(ApiException) as exc_info:
        api.get_profile(USER)

    assert exc_info.value.status == 404


def test_it_returns_a_group_summary_and_member_profile(line, api):
    line.control.add_user(USER, "Aiko")
    line.control.add_group(GROUP, "Book club", members=[USER])

    summary = api.get_group_summary(GROUP)
    member = api.get_group_member_profile(GROUP, USER)

    assert (summary.group_id, summary.group_name) == (GROUP, "Book club")
    assert member.display_name == "Aiko"
    assert api.get_group_member_count(GROUP).count == 1
    assert api.get_group_members_ids(GROUP).member_ids == [USER]


def test_it_answers_404_for_someone_outside_the_group(line, api):
    line.control.add_group(GROUP, "Book club")

    with pytest.raises(ApiException) as exc_info:
        api.get_group_member_profile(GROUP, USER)

    assert exc_info.value.status == 404


def test_it_returns_a_room_member_profile(line, api):
    line.control.send_webhook(type="text", userId=USER, roomId=ROOM, text="hi", displayName="Ken")

    assert api.get_room_member_profile(ROOM, USER).display_name == "Ken"


def test_it_serves_the_content_of_an_image_sent_by_a_user(line, blob_api, receiver):
    sent = line.control.send_webhook(type="image", userId=USER)

    content = blob_api.get_message_content(sent["event"]["message"]["id"])

    assert bytes(content) == BLANK_PNG


def test_it_answers_404_for_content_it_never_created(blob_api):
    with pytest.raises(ApiException) as exc_info:
        blob_api.get_message_content("123")

    assert exc_info.value.status == 404


def test_it_marks_messages_as_read_with_a_token_from_a_webhook(line, api, receiver):
    sent = line.control.send_webhook(type="text", userId=USER, text="hello")

    api.mark_messages_as_read_by_token(
        MarkMessagesAsReadByTokenRequest(markAsReadToken=sent["event"]["message"]["markAsReadToken"])
    )

    with pytest.raises(ApiException) as exc_info:
        api.mark_messages_as_read_by_token(MarkMessagesAsReadByTokenRequest(markAsReadToken="forged"))
    assert exc_info.value.status == 400


def menu_png(width=2500, height=843) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (20, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


MENU_PNG = menu_png()


def rich_menu_request(width=2500, height=843):
    return RichMenuRequest(
        size=RichMenuSize(width=width, height=height),
        selected=True,
        name="main",
        chatBarText="Menu",
        areas=[
            RichMenuArea(
                bounds=RichMenuBounds(x=0, y=0, width=1250, height=843),
                action=PostbackAction(label="Help", data="help"),
            )
        ],
    )


def test_it_creates_reads_lists_and_deletes_a_rich_menu(api):
    rich_menu_id = api.create_rich_menu(rich_menu_request()).rich_menu_id

    assert api.get_rich_menu(rich_menu_id).chat_bar_text == "Menu"
    assert [menu.rich_menu_id for menu in api.get_rich_menu_list().richmenus] == [rich_menu_id]
    api.delete_rich_menu(rich_menu_id)
    with pytest.raises(ApiException) as exc_info:
        api.get_rich_menu(rich_menu_id)
    assert exc_info.value.status == 404


def test_it_rejects_a_rich_menu_of_the_wrong_size(api):
    with pytest.raises(ApiException) as exc_info:
        api.create_rich_menu(rich_menu_request(width=500))

    assert exc_info.value.status == 400
    assert exc_info.value.body and "size" in exc_info.value.body


def test_it_rejects_a_rich_menu_with_a_chat_bar_text_over_14_characters(api):
    request = RichMenuRequest.construct(**{**rich_menu_request().__dict__, "chat_bar_text": "x" * 15})

    with pytest.raises(ApiException) as exc_info:
        api.validate_rich_menu_object(request)

    assert exc_info.value.status == 400


def test_it_stores_and_serves_a_rich_menu_image(api, blob_api):
    rich_menu_id = api.create_rich_menu(rich_menu_request()).rich_menu_id

    blob_api.set_rich_menu_image(rich_menu_id, MENU_PNG, _headers={"Content-Type": "image/png"})

    assert bytes(blob_api.get_rich_menu_image(rich_menu_id)) == MENU_PNG


def test_it_rejects_a_rich_menu_narrower_than_the_aspect_ratio_allows(api):
    # 1000 / 800 = 1.25: inside the width and height limits, but below LINE's 1.45.
    with pytest.raises(ApiException) as exc_info:
        api.create_rich_menu(rich_menu_request(width=1000, height=800))

    assert exc_info.value.status == 400
    assert "aspect ratio" in exc_info.value.body


def test_it_rejects_a_rich_menu_image_of_a_size_line_refuses(api, blob_api):
    rich_menu_id = api.create_rich_menu(rich_menu_request()).rich_menu_id

    with pytest.raises(ApiException) as exc_info:
        blob_api.set_rich_menu_image(rich_menu_id, BLANK_PNG, _headers={"Content-Type": "image/png"})

    assert exc_info.value.status == 400
    assert "Invalid image size" in exc_info.value.body


def test_it_rejects_a_rich_menu_image_that_is_not_png_or_jpeg(api, blob_api):
    rich_menu_id = api.create_rich_menu(rich_menu_request()).rich_menu_id

    with pytest.raises(ApiException) as exc_info:
        blob_api.set_rich_menu_image(rich_menu_id, b"GIF89a", _headers={"Content-Type": "image/gif"})

    assert exc_info.value.status == 415


def test_it_links_a_rich_menu_to_a_user_and_as_default(api, blob_api):
    rich_menu_id = api.create_rich_menu(rich_menu_request()).rich_menu_id
    with pytest.raises(ApiException) as exc_info:
        api.link_rich_menu_id_to_user(USER, rich_menu_id)
    assert exc_info.value.status == 400  # no image yet
    blob_api.set_rich_menu_image(rich_menu_id, MENU_PNG, _headers={"Content-Type": "image/png"})

    api.link_rich_menu_id_to_user(USER, rich_menu_id)
    api.set_default_rich_menu(rich_menu_id)

    assert api.get_rich_menu_id_of_user(USER).rich_menu_id == rich_menu_id
    assert api.get_default_rich_menu_id().rich_menu_id == rich_menu_id
    api.unlink_rich_menu_id_from_user(USER)
    api.cancel_default_rich_menu()
    with pytest.raises(ApiException) as exc_info:
        api.get_rich_menu_id_of_user(USER)
    assert exc_info.value.status == 404


def test_it_manages_rich_menu_aliases(api):
    first = api.create_rich_menu(rich_menu_request()).rich_menu_id
    second = api.create_rich_menu(rich_menu_request()).rich_menu_id

    api.create_rich_menu_alias(CreateRichMenuAliasRequest(richMenuAliasId="main-menu", richMenuId=first))
    api.update_rich_menu_alias("main-menu", UpdateRichMenuAliasRequest(richMenuId=second))

    assert api.get_rich_menu_alias("main-menu").rich_menu_id == second
    assert [alias.rich_menu_alias_id for alias in api.get_rich_menu_alias_list().aliases] == ["main-menu"]
    with pytest.raises(ApiException) as exc_info:
        api.create_rich_menu_alias(CreateRichMenuAliasRequest(richMenuAliasId="main-menu", richMenuId=first))
    assert exc_info.value.status == 400
    api.delete_rich_menu_alias("main-menu")
    assert api.get_rich_menu_alias_list().aliases == []


def test_it_rejects_an_alias_id_the_spec_forbids(api):
    rich_menu_id = api.create_rich_menu(rich_menu_request()).rich_menu_id

    with pytest.raises(ApiException) as exc_info:
        api.create_rich_menu_alias(
            CreateRichMenuAliasRequest.construct(richMenuAliasId="Has Spaces", richMenuId=rich_menu_id)
        )

    assert exc_info.value.status == 400


@pytest.fixture
def insight(line):
    with InsightApiClient(InsightConfiguration(host=line.base_url, access_token=line.access_token)) as client:
        yield Insight(client)


def test_it_counts_followers_and_blocks_in_insight(line, insight, receiver):
    line.control.send_webhook(type="follow", userId=USER)
    line.control.send_webhook(type="follow", userId="U" + "7" * 32)
    line.control.send_webhook(type="unfollow", userId=USER)

    followers = insight.get_number_of_followers(line_day())

    assert (followers.followers, followers.targeted_reaches, followers.blocks) == (2, 1, 1)


def test_it_counts_the_days_message_deliveries_in_insight(line, api, insight):
    api.push_message(PushMessageRequest(to=USER, messages=[TextMessage(text="x")]))

    deliveries = insight.get_number_of_message_deliveries(line_day())

    assert deliveries.status == "ready"
    assert deliveries.api_push == 1


def test_it_rejects_a_malformed_insight_date(line, insight):
    with pytest.raises(InsightApiException) as exc_info:
        insight.get_number_of_message_deliveries("2024-1-1")

    assert exc_info.value.status == 400


def test_it_sets_and_reports_the_webhook_endpoint(api):
    api.set_webhook_endpoint(SetWebhookEndpointRequest(endpoint="https://bot.example.com/line/webhook"))

    info = api.get_webhook_endpoint()

    assert (info.endpoint, info.active) == ("https://bot.example.com/line/webhook", True)


def test_it_posts_to_the_bot_from_the_webhook_test_endpoint(line, api, receiver):
    result = api.test_webhook_endpoint()

    assert result.success is True
    assert result.status_code == 200
    assert receiver.posts[-1]["valid"]
