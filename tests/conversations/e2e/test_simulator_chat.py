"""A person chats with the live bot through the LINE simulator page in Debian's Chromium."""

import io

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from tests.browser import launch_chromium

pytestmark = [pytest.mark.browser, pytest.mark.integration]

BOT_BUBBLES = ".msg.bot:not(.loading) .bubble"


@pytest.fixture
def page(bot):
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.goto(bot.line.simulator_url)
        yield page
        browser.close()


def test_it_serves_a_person_who_chats_sends_a_picture_and_resets(page, bot, tmp_path):
    page.fill("#new-user-name", "Aiko")
    page.click("#new-user")
    expect(page.locator(BOT_BUBBLES, has_text="Hello Aiko!")).to_be_visible(timeout=20_000)

    page.fill("#composer-text", "What is the capital of Japan?")
    page.click("#send")
    expect(page.locator(BOT_BUBBLES)).to_have_count(2, timeout=20_000)
    answer = page.locator(BOT_BUBBLES).nth(1).inner_text()
    assert answer.strip() and not answer.startswith("Sorry")

    picture = tmp_path / "cat.png"
    image = Image.new("RGB", (64, 48), "orange")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    picture.write_bytes(buffer.getvalue())
    page.set_input_files("#image-input", str(picture))
    expect(page.locator(BOT_BUBBLES)).to_have_count(3, timeout=20_000)
    assert not page.locator(BOT_BUBBLES).nth(2).inner_text().startswith("Sorry")
    vision = [r for r in bot.llm.control.requests() if isinstance(r["body"]["messages"][-1]["content"], list)]
    assert len(vision) == 1

    page.fill("#composer-text", "/reset")
    page.click("#send")
    expect(page.locator(BOT_BUBBLES, has_text="Done! I've forgotten our conversation.")).to_be_visible(timeout=20_000)
