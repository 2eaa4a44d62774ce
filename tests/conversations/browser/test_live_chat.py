"""The live chat takeover in Chromium: the simulator plays the LINE user, the console plays the operator."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from accounts import roles
from conversations.models import LineUser
from tests.browser import LAPTOP_VIEWPORT, docs_screenshot, horizontal_overflow, screenshot
from tests.monitoring.conftest import session_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SIM_BOT = ".msg.bot:not(.loading) .bubble"
expect.set_options(timeout=20_000)


@pytest.fixture
def make_staff(django_user_model):
    def make(username, role):
        user = django_user_model.objects.create_user(username, password="a-long-password-123", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


def console(browser, live_bot, user):
    context = browser.new_context(base_url=live_bot.base_url, viewport=LAPTOP_VIEWPORT)
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": session_for(user), "url": live_bot.base_url}
    context.add_cookies([cookie])
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.console_errors = []
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    return page


def simulator(browser, live_bot, name):
    page = browser.new_page(viewport={"width": 900, "height": 800})
    page.set_default_timeout(20_000)
    page.goto(live_bot.line.simulator_url)
    page.fill("#new-user-name", name)
    page.click("#new-user")
    expect(page.locator(SIM_BOT, has_text=f"Hello {name}")).to_be_visible()
    return page


def say(page, text):
    page.fill("#composer-text", text)
    page.click("#send")
    expect(page.locator(".msg.user .bubble", has_text=text)).to_be_visible()


def chat_url(line_user_id: str) -> str:
    return f"/admin/conversations/lineuser/{LineUser.objects.get(line_user_id=line_user_id).pk}/chat/"


def test_it_refuses_an_analyst_opening_the_operators_takeover(browser, live_bot, make_staff):
    LineUser.objects.create(line_user_id="U" + "9" * 32, display_name="Somebody")
    page = console(browser, live_bot, make_staff("ana", roles.ANALYST))
    url = chat_url("U" + "9" * 32)

    response = page.goto(url)
    code = page.evaluate(
        """(path) => new Promise((resolve) => {
            const socket = new WebSocket(`ws://${location.host}${path}`);
            socket.onclose = (event) => resolve(event.code);
        })""",
        url.replace("/admin/conversations/lineuser/", "/ws/conversations/").replace("/chat/", "/"),
    )

    assert response.status == 403
    assert code == 4403
    screenshot(page, "takeover-analyst-refused")
    page.context.close()


def test_it_makes_a_takeover_round_trip_through_the_simulator(browser, live_bot, make_staff):
    sim = simulator(browser, live_bot, "Aiko")
    user_id = sim.locator("#chat-subtitle").inner_text()
    ops = console(browser, live_bot, make_staff("olga", roles.OPERATOR))
    ops.goto(chat_url(user_id))
    expect(ops.locator('#ops-chat[data-connection="live"]')).to_be_visible()

    # The user writes; the message and the bot's answer appear in the console as they happen.
    say(sim, "Where is my parcel?")
    expect(sim.locator(SIM_BOT)).to_have_count(2)
    expect(ops.locator(".chat-row.user", has_text="Where is my parcel?")).to_be_visible()
    expect(ops.locator(".chat-row.bot", has_text="“Where is my parcel?”")).to_be_visible()

    # The operator takes over: the next message is shown, marked unanswered, and the bot stays silent.
    ops.click("#take-over")
    expect(ops.locator('#chat-state[data-active="true"]')).to_be_visible()
    expect(ops.locator(".chat-row.note", has_text="olga took over")).to_be_visible()
    say(sim, "I would like to talk to a person")
    asked = ops.locator(".chat-row.user", has_text="I would like to talk to a person")
    expect(asked.locator(".chat-flag", has_text="not answered")).to_be_visible()

    # The operator answers by push; it reaches the user in the simulator.
    ops.fill("#id_text", "Hello Aiko, Olga here. Your parcel leaves today.")
    ops.click("#send")
    expect(sim.locator(SIM_BOT, has_text="Olga here")).to_be_visible()
    expect(sim.locator(SIM_BOT)).to_have_count(3)
    expect(ops.locator(".chat-row.operator", has_text="Olga here")).to_be_visible()
    expect(ops.locator(".chat-row.operator .chat-by", has_text="olga")).to_be_visible()
    screenshot(sim, "takeover-simulator")
    screenshot(ops, "takeover-console-paused")
    docs_screenshot(ops.locator("#ops-chat"), "live-chat-takeover")

    # Handed back, the bot answers again, and the console shows that too.
    ops.click("#hand-back")
    expect(ops.locator('#chat-state[data-active="false"]')).to_be_visible()
    say(sim, "Thank you")
    expect(sim.locator(SIM_BOT)).to_have_count(4)
    expect(sim.locator(SIM_BOT).nth(3)).to_contain_text("“Thank you”")
    expect(ops.locator(".chat-row.bot", has_text="“Thank you”")).to_be_visible()
    expect(ops.locator(".chat-row.note", has_text="handed back")).to_be_visible()

    kinds = ops.locator(".chat-row").evaluate_all("rows => rows.map(r => r.dataset.kind)")
    assert kinds == ["bot", "user", "bot", "note", "user", "operator", "note", "user", "bot"]
    assert horizontal_overflow(ops) == 0
    assert ops.console_errors == []
    screenshot(ops, "takeover-console-handed-back")
    sim.close()
    ops.context.close()


def test_it_shows_pictures_and_flex_answers_in_the_chat_view(browser, live_bot, make_staff, tmp_path):
    import io

    from PIL import Image

    from conversations.models import WebhookEvent

    sim = simulator(browser, live_bot, "Ken")
    user_id = sim.locator("#chat-subtitle").inner_text()
    picture = tmp_path / "parcel.png"
    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), "orange").save(buffer, format="PNG")
    picture.write_bytes(buffer.getvalue())
    sim.set_input_files("#image-input", str(picture))
    expect(sim.locator(SIM_BOT)).to_have_count(2)
    # A Flex answer as the bot stores it (e.g. a rich message's "Tell me more"), drawn by the simulator's renderer.
    answered = WebhookEvent.objects.filter(line_user_id=user_id, message_type="image").get()
    answered.reply_messages = [
        {
            "type": "flex",
            "altText": "Your parcel",
            "contents": {
                "type": "bubble",
                "body": {"type": "box", "layout": "vertical", "contents": [{"type": "text", "text": "Parcel 4711"}]},
                "footer": {
                    "type": "box",
                    "layout": "vertical",
                    "contents": [
                        {
                            "type": "button",
                            "style": "primary",
                            "action": {"type": "postback", "label": "Track", "data": "t"},
                        }
                    ],
                },
            },
        }
    ]
    answered.save(update_fields=["reply_messages"])

    ops = console(browser, live_bot, make_staff("olga", roles.OPERATOR))
    ops.goto(chat_url(user_id))

    shown = ops.locator(".chat-row.user img.chat-picture")
    expect(shown).to_be_visible()
    expect(ops.locator(".chat-row.bot .flex-bubble .flex-text", has_text="Parcel 4711")).to_be_visible()
    expect(ops.locator(".chat-row.bot .flex-button", has_text="Track")).to_be_visible()
    assert shown.evaluate("img => img.complete && img.naturalWidth") == 120
    assert horizontal_overflow(ops) == 0
    assert ops.console_errors == []
    screenshot(ops, "takeover-console-picture-and-flex")
    sim.close()
    ops.context.close()
