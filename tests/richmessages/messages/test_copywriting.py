"""AI-written copy through the LLM double: limits in graphemes, the fallback tiers, the cache, runtime prompts."""

import json

import pytest

from core.errors import ValidationError
from core.unicode import grapheme_len
from linesim.llm.replies import SAMPLE_TEXTS
from richmessages import copywriting
from richmessages.copywriting import DEFAULT_COPY, UnusableCopyError, copy_write, parse_answer
from richmessages.models import RichMessage

pytestmark = pytest.mark.django_db

Source = RichMessage.CopySource
BRIEF = {"theme": "rainy season", "tone": "caring", "audience": "office workers"}


@pytest.fixture
def version(make_template):
    return make_template(curated_copy={"th": {"title": "ฝนตกแล้ว", "body": "พกร่มติดตัวไว้นะ"}}).approved_version


def answer(title, body) -> str:
    return json.dumps({"title": title, "body": body}, ensure_ascii=False)


def test_it_writes_thai_copy_with_the_ai(llm, version):
    copy = copy_write(version=version, language="th", brief=BRIEF)

    assert (copy.title, copy.body, copy.source) == (SAMPLE_TEXTS["th"][0], SAMPLE_TEXTS["th"][1], Source.AI)
    [request] = llm.control.requests()
    body = request["body"]
    assert body["response_format"]["type"] == "json_schema"
    system, prompt = body["messages"][0]["content"], body["messages"][1]["content"]
    assert "copywriter" in system and "'th'" in system
    assert "Theme: rainy season" in prompt and "Tone: caring" in prompt and "Audience: office workers" in prompt
    assert "at most 40 characters" in prompt and "at most 160 characters" in prompt and "Thai" in prompt


def test_it_counts_the_limits_in_characters_as_readers_see_them(llm, make_template):
    version = make_template(title_max_chars=7).approved_version
    title = "สวัสดีครับ"  # 10 code points, 7 graphemes
    llm.control.script(answer(title, "ข้อความ"))

    copy = copy_write(version=version, language="th", brief=None)

    assert (copy.title, copy.source) == (title, Source.AI)
    assert len(copy.title) > version.title_max_chars >= grapheme_len(copy.title)


def test_it_retries_stricter_and_shorter_when_the_first_answer_is_too_long(llm, version):
    llm.control.script(answer("ก" * 41, "สั้น"), answer("ฝนมาแล้ว", "ดูแลตัวเองด้วยนะ"))

    copy = copy_write(version=version, language="th", brief=BRIEF)

    assert (copy.title, copy.body, copy.source) == ("ฝนมาแล้ว", "ดูแลตัวเองด้วยนะ", Source.AI_RETRY)
    first, retry = llm.control.requests()
    retry_prompt = retry["body"]["messages"][1]["content"]
    assert "could not be used" in retry_prompt and "at most 26 characters" in retry_prompt
    assert retry["body"]["temperature"] < first["body"]["temperature"]


@pytest.mark.parametrize(
    "unusable",
    [
        "Here is a lovely message for you!",  # prose, not JSON
        '{"title": "Hi"',  # broken JSON
        '["a", "b"]',  # not an object
        '{"title": 7, "body": "x"}',  # a title that is not text
        '{"title": "  ", "body": "x"}',  # an empty title
        answer("ok", "x" * 161),  # a body over the limit
    ],
)
def test_it_retries_when_the_first_answer_is_unusable(llm, version, unusable):
    llm.control.script(unusable, answer("Second try", "Shorter and within the limits."))

    copy = copy_write(version=version, language="en", brief=BRIEF)

    assert (copy.title, copy.source) == ("Second try", Source.AI_RETRY)


def test_it_reads_json_inside_a_code_fence(llm, version):
    llm.control.script("```json\n" + answer("  Good   morning ", "Line one.\n\n  Line two. ") + "\n```")

    copy = copy_write(version=version, language="en", brief=None)

    assert (copy.title, copy.body, copy.source) == ("Good morning", "Line one.\nLine two.", Source.AI)


def test_it_falls_back_to_the_curated_copy_when_both_answers_are_unusable(llm, version):
    llm.control.script("no json", "still no json")

    copy = copy_write(version=version, language="th", brief=BRIEF)

    assert (copy.title, copy.body, copy.source) == ("ฝนตกแล้ว", "พกร่มติดตัวไว้นะ", Source.CURATED)


def test_it_falls_back_to_the_safe_default_in_the_language_without_curated_copy(llm, version):
    llm.control.script("no json", "still no json")

    copy = copy_write(version=version, language="ja", brief=BRIEF)

    assert (copy.title, copy.body, copy.source) == (*DEFAULT_COPY["ja"], Source.DEFAULT)


def test_it_fills_a_missing_curated_part_from_the_default(llm, make_template):
    version = make_template(curated_copy={"zh-TW": {"title": "下雨了"}}).approved_version
    llm.control.script("no", "no")

    copy = copy_write(version=version, language="zh", brief=None)

    assert (copy.title, copy.body, copy.source) == ("下雨了", DEFAULT_COPY["zh"][1], Source.CURATED)


def test_it_cuts_the_default_to_the_templates_limits(llm, make_template):
    version = make_template(title_max_chars=5, body_max_chars=10).approved_version
    llm.control.script("no", "no")

    copy = copy_write(version=version, language="th", brief=None)

    assert copy.source == Source.DEFAULT
    assert grapheme_len(copy.title) <= 5 and grapheme_len(copy.body) <= 10
    assert copy.body.endswith("…")


def test_it_never_blocks_on_an_llm_outage_and_does_not_ask_twice(llm, version):
    llm.control.add_fault("500")

    copy = copy_write(version=version, language="th", brief=BRIEF)

    assert copy.source == Source.CURATED
    assert len(llm.control.requests()) == 1


def test_it_falls_back_when_no_model_is_configured(llm, version, settings):
    settings.AZURE_OPENAI_ENDPOINT = ""

    copy = copy_write(version=version, language="en", brief=BRIEF)

    assert (copy.title, copy.source) == (DEFAULT_COPY["en"][0], Source.DEFAULT)


def test_it_tries_the_retry_after_a_refused_prompt(llm, version):
    llm.control.add_fault("prompt_filter", count=1)

    copy = copy_write(version=version, language="th", brief=BRIEF)

    assert copy.source == Source.AI_RETRY
    assert len(llm.control.requests()) == 2


def test_it_reuses_copy_for_the_same_brief_version_and_language(llm, version):
    first = copy_write(version=version, language="th", brief=BRIEF)
    again = copy_write(version=version, language="th", brief=dict(BRIEF))

    assert again == first
    assert len(llm.control.requests()) == 1


@pytest.mark.parametrize(
    "change", [{"language": "ja"}, {"brief": {**BRIEF, "tone": "playful"}}, {"brief": {"theme": "rainy season"}}]
)
def test_it_asks_again_for_another_brief_or_language(llm, version, change):
    copy_write(version=version, language="th", brief=BRIEF)

    copy_write(version=version, **{"language": "th", "brief": BRIEF, **change})

    assert len(llm.control.requests()) == 2


def test_it_asks_again_for_another_template_version(llm, version, make_template):
    other = make_template("Evening").approved_version
    copy_write(version=version, language="th", brief=BRIEF)

    copy_write(version=other, language="th", brief=BRIEF)

    assert len(llm.control.requests()) == 2


def test_it_does_not_keep_fallback_copy(llm, version):
    llm.control.add_fault("500", count=1)
    assert copy_write(version=version, language="th", brief=BRIEF).source == Source.CURATED

    assert copy_write(version=version, language="th", brief=BRIEF).source == Source.AI


def test_it_reuses_nothing_when_the_cache_is_turned_off(llm, version, set_setting):
    set_setting("richmessages.copy.cache_hours", 0)

    copy_write(version=version, language="th", brief=BRIEF)
    copy_write(version=version, language="th", brief=BRIEF)

    assert len(llm.control.requests()) == 2


def test_it_takes_the_persona_and_prompt_from_the_runtime_settings(llm, version, set_setting):
    set_setting("richmessages.copy.persona", "You write for a bakery.")
    set_setting("richmessages.copy.prompt", "Theme {theme} in {language_name}, {title_max}/{body_max}. {unknown}")

    copy_write(version=version, language="ja", brief=BRIEF)

    messages = llm.control.requests()[0]["body"]["messages"]
    assert messages[0]["content"].startswith("You write for a bakery.")
    assert messages[1]["content"] == "Theme rainy season in Japanese, 40/160. {unknown}"


def test_it_writes_new_copy_once_the_prompt_changed(llm, version, set_setting):
    copy_write(version=version, language="th", brief=BRIEF)
    set_setting("richmessages.copy.prompt", "Write about {theme}. Answer in JSON.")

    copy_write(version=version, language="th", brief=BRIEF)

    assert len(llm.control.requests()) == 2


@pytest.mark.parametrize(
    ("brief", "field"),
    [
        ("rainy season", "brief"),
        (["theme"], "brief"),
        ({"theme": "rain", "colour": "blue"}, "brief"),
        ({"theme": 7}, "brief.theme"),
        ({"tone": "x" * 101}, "brief.tone"),
        ({"audience": "bad\x00text"}, "brief.audience"),
    ],
)
def test_it_refuses_a_bad_brief_naming_the_field(llm, version, brief, field):
    with pytest.raises(ValidationError) as raised:
        copy_write(version=version, language="th", brief=brief)

    assert field in raised.value.details
    assert llm.control.requests() == []


@pytest.mark.parametrize("language", ["fr", "TH", "", None, 5])
def test_it_refuses_an_unknown_language(llm, version, language):
    with pytest.raises(ValidationError) as raised:
        copy_write(version=version, language=language, brief=None)

    assert "language" in raised.value.details


def test_it_reports_why_an_answer_is_unusable():
    with pytest.raises(UnusableCopyError, match="the title has 3 characters; at most 2"):
        parse_answer(answer("abc", "d"), title_max=2, body_max=5)


def test_it_counts_a_brief_in_graphemes():
    thai = "น้ำ" * 100  # 300 code points, 100 graphemes

    assert copywriting.brief_clean({"theme": thai * 2}) == {"theme": thai * 2}
