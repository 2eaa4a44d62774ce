"""The LINE simulator page in Debian's Chromium: a person chats as a LINE user; a tiny receiver plays the bot."""

import pytest
from linebot.v3.messaging import (
    FlexBox,
    FlexBubble,
    FlexButton,
    FlexMessage,
    FlexSeparator,
    FlexText,
    MessageAction,
    PostbackAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ShowLoadingAnimationRequest,
    TextMessage,
)
from linebot.v3.webhooks import MessageEvent, PostbackEvent
from playwright.sync_api import expect, sync_playwright

from tests.browser import launch_chromium

pytestmark = pytest.mark.browser


@pytest.fixture
def page(line, receiver):
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.console_errors = []
        page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
        page.goto(line.simulator_url)
        yield page
        browser.close()


def add_user(page, name="Aiko"):
    page.fill("#new-user-name", name)
    page.click("#new-user")
    expect(page.locator(".event", has_text=f"{name} added the bot as a friend")).to_be_visible()


def current_user_id(page):
    return page.locator("#chat-subtitle").inner_text()


def test_it_sends_a_message_and_shows_the_webhook_accepted(page, receiver):
    add_user(page)

    page.fill("#composer-text", "hello bot")
    page.click("#send")

    expect(page.locator(".msg.user .bubble", has_text="hello bot")).to_be_visible()
    expect(page.locator(".msg.user .status.ok", has_text="webhook 200")).to_be_visible()
    events = [post["events"][0] for post in receiver.posts]
    assert isinstance(events[-1], MessageEvent)
    assert events[-1].message.text == "hello bot"
    assert page.console_errors == []


def test_it_shows_a_failed_webhook(page, receiver):
    add_user(page)
    receiver.status = 500

    page.fill("#composer-text", "are you there?")
    page.click("#send")

    expect(page.locator(".msg.user .status.failed", has_text="webhook 500")).to_be_visible()


def test_it_renders_a_flex_bubble_and_sends_its_postback(page, api, receiver):
    add_user(page)
    bubble = FlexBubble(
        body=FlexBox(
            layout="vertical",
            contents=[FlexText(text="Your order", weight="bold", size="xl"), FlexSeparator()],
        ),
        footer=FlexBox(
            layout="vertical",
            contents=[
                FlexButton(style="primary", action=PostbackAction(label="Confirm", data="order=1", displayText="Yes"))
            ],
        ),
    )
    api.push_message(PushMessageRequest(to=current_user_id(page), messages=[FlexMessage(altText="o", contents=bubble)]))

    expect(page.locator(".flex-bubble .flex-text", has_text="Your order")).to_be_visible()
    page.click(".flex-button.primary")

    expect(page.locator(".msg.user .bubble", has_text="Yes")).to_be_visible()
    expect(page.locator(".msg.user .status.ok").last).to_be_visible()
    postback = receiver.posts[-1]["events"][0]
    assert isinstance(postback, PostbackEvent)
    assert postback.postback.data == "order=1"


def test_it_offers_quick_replies_that_send_a_message(page, api, receiver):
    add_user(page)
    quick = QuickReply(items=[QuickReplyItem(action=MessageAction(label="Menu", text="show menu"))])
    api.push_message(
        PushMessageRequest(to=current_user_id(page), messages=[TextMessage(text="Pick one", quickReply=quick)])
    )

    page.click(".chip:has-text('Menu')")

    expect(page.locator(".msg.user .bubble", has_text="show menu")).to_be_visible()
    assert receiver.posts[-1]["events"][0].message.text == "show menu"


def test_it_shows_the_loading_indicator_until_the_bot_answers(page, api):
    add_user(page)
    user_id = current_user_id(page)

    api.show_loading_animation(ShowLoadingAnimationRequest(chatId=user_id, loadingSeconds=20))
    expect(page.locator(".msg.bot.loading")).to_be_visible()
    api.push_message(PushMessageRequest(to=user_id, messages=[TextMessage(text="done thinking")]))

    expect(page.locator(".msg.bot .bubble", has_text="done thinking")).to_be_visible()
    expect(page.locator(".msg.bot.loading")).to_have_count(0)


def test_it_sends_an_image_upload(page, receiver, tmp_path, blob_api):
    from linesim.line.webhook import BLANK_PNG

    add_user(page)
    picture = tmp_path / "dot.png"
    picture.write_bytes(BLANK_PNG)

    page.set_input_files("#image-input", str(picture))

    expect(page.locator(".msg.user img.bubble.image")).to_be_visible()
    expect(page.locator(".msg.user .status.ok").last).to_be_visible()
    event = receiver.posts[-1]["events"][0]
    assert event.message.type == "image"
    assert bytes(blob_api.get_message_content(event.message.id)) == BLANK_PNG


def test_it_creates_a_group_and_talks_in_it(page, receiver):
    add_user(page)

    page.click("#new-group")
    expect(page.locator(".event", has_text="The bot joined")).to_be_visible()
    page.fill("#composer-text", "hi group")
    page.click("#send")

    expect(page.locator(".msg.user .status.ok").last).to_be_visible()
    event = receiver.posts[-1]["events"][0]
    assert event.source.type == "group"
    assert event.message.text == "hi group"


def test_it_sends_a_sticker(page, receiver):
    add_user(page)

    page.click("#sticker-toggle")
    page.click(".sticker-choice:has-text('Thanks')")

    expect(page.locator(".msg.user .bubble.sticker", has_text="Thanks")).to_be_visible()
    expect(page.locator(".msg.user .status.ok").last).to_be_visible()
    message = receiver.posts[-1]["events"][0].message
    assert (message.type, message.package_id, message.sticker_id) == ("sticker", "789", "10855")


def test_it_blocks_and_unblocks_the_bot(page, receiver):
    add_user(page, "Ken")

    page.click("#follow")
    expect(page.locator(".event", has_text="Ken blocked the bot")).to_be_visible()
    expect(page.locator("#follow")).to_have_text("Add friend (follow)")
    page.click("#follow")

    expect(page.locator(".event", has_text="Ken added the bot as a friend")).to_have_count(2)
    assert [post["events"][0].type for post in receiver.posts] == ["follow", "unfollow", "follow"]


def test_it_serves_the_page_with_a_strict_content_security_policy(line):
    import urllib.request

    with urllib.request.urlopen(line.simulator_url) as response:
        policy = response.headers["Content-Security-Policy"]
        html = response.read().decode()

    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "<script>" not in html


def test_it_starts_the_page_over_when_the_double_is_reset(page, line):
    add_user(page, "Yui")
    page.fill("#composer-text", "one")
    page.click("#send")
    expect(page.locator(".msg.user .status.ok")).to_be_visible()

    line.control.reset()

    expect(page.locator(".chat-item")).to_have_count(0)
    expect(page.locator("#chat-title")).to_have_text("Add a user to start chatting")


def test_it_says_why_a_webhook_was_not_delivered(page, line):
    line.control.configure(webhookUrl="")
    add_user(page, "Sora")

    page.fill("#composer-text", "anyone?")
    page.click("#send")

    expect(page.locator(".status.failed", has_text="not delivered: no webhook URL is set").last).to_be_visible()
