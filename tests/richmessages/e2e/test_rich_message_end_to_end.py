"""A rich message from template to reader, for real: uploaded and approved through the API, built with AI copy in
Thai (the LLM double), validated and test-sent through the LINE double, fetched by its public URL from the live
server, shown in the LINE simulator, and a "Tell me more" tap answered by a real Celery worker with the message's
context. Playwright drives the ops console's preview and the simulator.

``DOCS_SCREENSHOTS=1`` also writes the simulator's screenshot of docs/content-team.md to docs/img/.
"""

import hashlib
import json
import time

import pytest
import requests
from playwright.sync_api import expect

from accounts import api_keys
from conversations.models import LineUser
from core.line.client import reset_line_client
from core.llm.client import reset_llm_client
from linesim.llm.replies import SAMPLE_TEXTS
from richmessages.models import RichMessage
from tests.browser import docs_screenshot, screenshot
from tests.conversations.e2e.conftest import TOKEN
from tests.richmessages.messages.conftest import BODY_AREA, TITLE_AREA, background_bytes

pytestmark = [pytest.mark.integration, pytest.mark.browser]

THAI_TITLE, THAI_BODY = SAMPLE_TEXTS["th"]
MORE = "บอกเพิ่มเติม"


@pytest.fixture
def site(bot, settings, live_server):
    """This process (the live server) talks to the same doubles as the worker, and serves images publicly."""
    settings.PUBLIC_BASE_URL = live_server.url
    settings.LINE_API_BASE_URL = bot.line.base_url
    settings.LINE_DATA_API_BASE_URL = bot.line.base_url
    settings.LINE_CHANNEL_ACCESS_TOKEN = TOKEN
    settings.LINE_API_RETRY_WAIT = 0.1
    for name, value in bot.llm.env().items():
        setattr(settings, name, value)
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_TOTAL_TIMEOUT = 8
    reset_line_client()
    reset_llm_client()
    yield live_server.url
    reset_line_client()
    reset_llm_client()


class Api:
    def __init__(self, base_url: str, user, *scopes: str):
        key = api_keys.api_key_create(user=user, name=f"e2e-{user.username}", scopes=list(scopes)).plaintext
        self.base_url = base_url + "/api/v1/"
        self.headers = {"Authorization": f"Api-Key {key}"}

    def post(self, path: str, expected: int, **kwargs) -> dict:
        response = requests.post(self.base_url + path, headers=self.headers, timeout=30, **kwargs)
        assert response.status_code == expected, response.text
        return response.json()


def wait_for(check, timeout: float = 30, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not true within {timeout} s: {check}")


def test_it_takes_a_rich_message_from_template_to_a_readers_question(bot, site, editor, operator, page_as, browser):
    line, llm = bot.line, bot.llm
    editing = Api(site, editor, "richmessages:read", "richmessages:write")
    approving = Api(site, operator, "richmessages:read", "richmessages:write")

    # A template is uploaded by the content team and approved by someone else (four eyes).
    metadata = {
        "theme": "weather",
        "title_area": TITLE_AREA,
        "body_area": BODY_AREA,
        "title_max_chars": 40,
        "body_max_chars": 160,
        "buttons": ["more", "like", "save", "share"],
    }
    template = editing.post(
        "rich-templates/",
        201,
        data={"name": "Rainy season", "metadata": json.dumps(metadata)},
        files={"image": ("rain.jpg", background_bytes(), "image/jpeg")},
    )
    approving.post(f"rich-templates/{template['id']}/approve", 200, json={})

    # A message is built with copy the AI writes in Thai.
    built = editing.post(
        "rich-messages/",
        201,
        json={
            "template": template["id"],
            "language": "th",
            "brief": {"theme": "rainy season", "tone": "caring", "audience": "commuters"},
        },
    )
    assert (built["title"], built["body"], built["copy_source"]) == (THAI_TITLE, THAI_BODY, "ai")
    copy_request = llm.control.requests()[-1]["body"]
    assert copy_request["response_format"]["type"] == "json_schema"
    assert "'th'" in copy_request["messages"][0]["content"]
    message = RichMessage.objects.get(pk=built["id"])
    assert built["flex"] == message.flex

    # LINE accepts it.
    assert editing.post(f"rich-messages/{message.pk}/validate", 200) == {"valid": True, "problems": []}

    # The console shows it as LINE will.
    console = page_as(editor)
    console.set_viewport_size({"width": 1366, "height": 900})
    console.goto(f"/admin/richmessages/richmessage/{message.pk}/change/")
    console.locator(".rich-preview-stage").scroll_into_view_if_needed()
    hero = ".rich-preview-stage .flex-image img"
    console.wait_for_function(f"() => document.querySelector('{hero}').naturalWidth > 0")
    expect(console.locator(".rich-preview-stage .flex-text", has_text=THAI_TITLE)).to_be_visible()
    screenshot(console, "e2e-console-message", full_page=True)

    # A reader follows the bot in the simulator, and the message is sent to them as a test.
    reader = line.control.add_user(display_name="Somchai", language="th")["userId"]
    bot.send(type="follow", userId=reader)
    # Followed, greeted, and the profile (language included) stored before anything else happens.
    wait_for(lambda: LineUser.objects.filter(line_user_id=reader).exclude(language="").exists())
    wait_for(lambda: bot.messages(reader))
    sent = approving.post(f"rich-messages/{message.pk}/test-send", 201, json={"line_user_id": reader})

    # The LINE double recorded a Flex push, with the retry key, whose hero URL our server serves as an image.
    push = line.control.requests(endpoint="pushMessage")[-1]
    assert push["retryKey"] == sent["retry_key"]
    assert push["body"]["to"] == reader and push["body"]["messages"] == [message.flex]
    hero_url = push["body"]["messages"][0]["contents"]["hero"]["url"]
    assert hero_url == built["image_url"] and hero_url.startswith(site + "/media/rich/composed/")
    image = requests.get(hero_url, timeout=10)
    assert image.status_code == 200
    assert image.headers["Content-Type"] == "image/jpeg"
    assert "immutable" in image.headers["Cache-Control"] and "max-age=31536000" in image.headers["Cache-Control"]
    assert hashlib.sha256(image.content).hexdigest() == message.image_sha256

    # The simulator shows it, picture and all.
    simulator = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        simulator.goto(line.simulator_url)
        simulator.locator("#chats .chat-item", has_text="Somchai").click()
        bubble = simulator.locator(".msg.bot .flex-bubble", has_text=THAI_TITLE)
        expect(bubble).to_be_visible(timeout=15_000)
        bubble.scroll_into_view_if_needed()
        simulator.wait_for_function(
            "() => [...document.querySelectorAll('.msg.bot .flex-bubble .flex-image img')]"
            ".some(img => img.complete && img.naturalWidth === 1024)"
        )

        # "Tell me more": a signed postback to the live server, answered by the worker with the message's context.
        bubble.locator(".flex-button", has_text=MORE).click()
        answer = simulator.locator(".msg.bot .bubble.text", has_text=THAI_TITLE)
        expect(answer).to_be_visible(timeout=30_000)
        answer.scroll_into_view_if_needed()
        screenshot(simulator, "e2e-simulator-more")
        docs_screenshot(simulator, "content-simulator")
    finally:
        simulator.close()

    asked = wait_for(
        lambda: [
            r
            for r in llm.control.requests()
            if r["body"]["messages"][-1]["role"] == "user"
            and THAI_TITLE in str(r["body"]["messages"][-1]["content"])
            and "response_format" not in r["body"]
        ]
    )
    sent_messages = asked[-1]["body"]["messages"]
    assert {"role": "assistant", "content": f"{THAI_TITLE}\n\n{THAI_BODY}"} in sent_messages
    assert sent_messages[-1]["content"] == f'Tell me more about "{THAI_TITLE}".'
    [reply] = [m for m in bot.messages(reader) if m["message"]["type"] == "text" and THAI_TITLE in m["message"]["text"]]
    assert reply["via"] == "replyMessage"
    assert reply["message"]["text"].startswith("[th] ")
