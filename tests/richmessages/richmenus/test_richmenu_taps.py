"""Rich-menu taps arrive as signed postback webhooks; answers go to the LINE double as replies."""

import pytest

from analytics.models import Event
from conversations import postbacks
from conversations.models import LineUser
from tests.conversations.events import SECRET, body_of, event_of, sign

pytestmark = pytest.mark.django_db

USER = "U" + "b" * 32


@pytest.fixture
def bot(line_settings, settings, client, django_capture_on_commit_callbacks):
    """Posts a postback from USER with a reply token the double issued; returns the texts USER got back."""
    line = line_settings
    settings.LINE_CHANNEL_SECRET = SECRET
    line.control.add_user(USER, "Bea", language="ja")

    def tap(data: str, params: dict | None = None) -> list[str]:
        before = len(line.control.messages(user_id=USER))
        postback = {"data": data, **({"params": params} if params else {})}
        token = line.control.issue_reply_token(USER)
        raw = body_of(event_of("postback", user_id=USER, postback=postback, replyToken=token))
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/line/webhook", data=raw, content_type="application/json", HTTP_X_LINE_SIGNATURE=sign(raw)
            )
        assert response.status_code == 200
        return [m["message"]["text"] for m in line.control.messages(user_id=USER)[before:]]

    return tap


def taps():
    return list(Event.objects.filter(type=Event.Type.RICHMENU_TAP).order_by("id"))


def test_it_records_a_tap_and_routes_the_areas_postback_like_a_button(bot, make_menu):
    menu = make_menu()
    answered = []

    @postbacks.register("coupon")
    def coupon(request):
        answered.append(request.params)
        return [{"type": "text", "text": f"Coupon {request.params['id']} saved"}]

    area = {**menu.areas[0], "action": {"type": "postback", "data": "action=coupon&id=7"}}
    menu.areas = [area]
    menu.save()
    try:
        replies = bot(f"action=richmenu&m={menu.pk}&a=help")
    finally:
        postbacks.unregister("coupon")

    assert replies == ["Coupon 7 saved"]
    assert answered == [{"action": "coupon", "id": "7"}]
    [event] = taps()
    assert event.button == "help"
    assert event.line_user == LineUser.objects.get(line_user_id=USER)
    assert event.props == {"menu_id": menu.pk, "menu": "Main", "kind": "postback"}


def test_it_answers_a_tap_on_a_built_in_action(bot, make_menu):
    menu = make_menu()

    replies = bot(f"action=richmenu&m={menu.pk}&a=help")

    assert len(replies) == 1 and replies[0]  # the help text, in the user's language
    assert taps()[0].button == "help"


def test_it_records_a_switch_without_answering(bot, make_menu):
    menu = make_menu()

    replies = bot(
        f"action=richmenu&m={menu.pk}&a=more", params={"newRichMenuAliasId": "more-menu", "status": "SUCCESS"}
    )

    assert replies == []
    [event] = taps()
    assert event.props["switched_to"] == "more-menu" and event.props["kind"] == "richmenuswitch"


def test_it_answers_politely_when_line_could_not_switch(bot, make_menu):
    menu = make_menu()

    replies = bot(
        f"action=richmenu&m={menu.pk}&a=more",
        params={"newRichMenuAliasId": "gone", "status": "RICHMENU_ALIAS_ID_NOTFOUND"},
    )

    assert replies == ["申し訳ありません。このボタンは現在使えません。"]
    assert taps()[0].props["switch_status"] == "RICHMENU_ALIAS_ID_NOTFOUND"


@pytest.mark.parametrize(
    "data",
    [
        "action=richmenu&m=999999&a=help",  # a deleted menu
        "action=richmenu&m={menu}&a=removed-area",  # an area taken out of the menu since
        "action=richmenu&m=not-a-number&a=help",
        "action=richmenu&m=99999999999999999999999&a=help",
        "action=richmenu",
    ],
)
def test_it_answers_a_tap_on_an_unknown_menu_or_area_politely(bot, make_menu, data):
    menu = make_menu()

    replies = bot(data.format(menu=menu.pk))

    assert replies == ["申し訳ありません。このボタンは現在使えません。"]
    [event] = taps()
    assert event.props["unknown"] is True


def test_it_answers_politely_when_an_areas_action_is_no_longer_answered(bot, make_menu):
    menu = make_menu()
    menu.areas = [{**menu.areas[0], "action": {"type": "postback", "data": "action=retired-feature"}}]
    menu.save()

    assert bot(f"action=richmenu&m={menu.pk}&a=help") == ["申し訳ありません。このボタンは現在使えません。"]
