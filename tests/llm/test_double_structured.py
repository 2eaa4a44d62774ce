"""The LLM double's JSON answers (response_format) and scripted answers, through the real openai SDK."""

import json
import urllib.error

import openai
import pytest

from linesim.llm.replies import INTRO, SAMPLE_TEXTS

API_VERSION = "2024-10-21"

COPY_SCHEMA = {
    "name": "rich_copy",
    "strict": True,
    "schema": {
        "type": "object",
        "properties": {"title": {"type": "string"}, "body": {"type": "string"}},
        "required": ["title", "body"],
        "additionalProperties": False,
    },
}


@pytest.fixture
def azure(llm):
    return openai.AzureOpenAI(
        azure_endpoint=llm.azure_endpoint, api_key=llm.api_key, api_version=API_VERSION, max_retries=0, timeout=5
    )


def ask(client, *messages, **kwargs):
    return client.chat.completions.create(model="dep", messages=list(messages), **kwargs)


def test_it_answers_a_json_schema_request_with_an_object_in_the_hinted_language(azure):
    system = {"role": "system", "content": "Write copy. Always answer in the language with the code 'th'."}

    completion = ask(
        azure,
        system,
        {"role": "user", "content": "theme: morning"},
        response_format={"type": "json_schema", "json_schema": COPY_SCHEMA},
    )

    answer = json.loads(completion.choices[0].message.content)
    assert answer == {"title": SAMPLE_TEXTS["th"][0], "body": SAMPLE_TEXTS["th"][1]}


def test_it_writes_english_without_a_hint_and_cuts_strings_to_their_max_length(azure):
    schema = {
        "name": "short",
        "schema": {
            "type": "object",
            "properties": {
                "title": {"type": "string", "maxLength": 5},
                "mood": {"enum": ["calm", "busy"]},
                "count": {"type": "integer", "minimum": 2},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            },
        },
    }

    completion = ask(
        azure, {"role": "user", "content": "hello"}, response_format={"type": "json_schema", "json_schema": schema}
    )

    answer = json.loads(completion.choices[0].message.content)
    assert answer == {"title": SAMPLE_TEXTS["en"][0][:5], "mood": "calm", "count": 2, "tags": [SAMPLE_TEXTS["en"][1]]}


def test_it_wraps_its_answer_for_a_json_object_request(azure):
    completion = ask(
        azure, {"role": "user", "content": "answer in json please"}, response_format={"type": "json_object"}
    )

    expected = {"answer": f"{INTRO} You wrote: “answer in json please”"}
    assert json.loads(completion.choices[0].message.content) == expected


@pytest.mark.parametrize(
    ("response_format", "param"),
    [
        ({"type": "yaml"}, "response_format.type"),
        ({"type": "json_object"}, "messages"),  # the prompt never says json
        ({"type": "json_schema", "json_schema": {"name": "bad name!", "schema": {"type": "object"}}}, None),
        ({"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "string"}}}, None),
        (
            {
                "type": "json_schema",
                "json_schema": {
                    "name": "x",
                    "strict": True,
                    "schema": {"type": "object", "properties": {"a": {"type": "string"}}, "required": []},
                },
            },
            "response_format",
        ),
    ],
)
def test_it_refuses_a_response_format_the_services_refuse(azure, response_format, param):
    with pytest.raises(openai.BadRequestError) as raised:
        ask(azure, {"role": "user", "content": "hello"}, response_format=response_format)

    if param:
        assert raised.value.body["param"] == param


def test_it_hands_out_scripted_answers_in_order_then_follows_its_rules(azure, llm):
    llm.control.script("first", "second")

    answers = [ask(azure, {"role": "user", "content": "hi"}).choices[0].message.content for _ in range(3)]

    assert answers == ["first", "second", f"{INTRO} You wrote: “hi”"]
    assert [r["scripted"] for r in llm.control.requests()] == [True, True, False]


def test_it_gives_a_scripted_answer_only_to_a_request_that_matches(azure, llm):
    llm.control.script("for the copywriter", match="copywriter")

    other = ask(azure, {"role": "user", "content": "hello"}).choices[0].message.content
    meant = ask(azure, {"role": "system", "content": "You are a copywriter."}, {"role": "user", "content": "go"})

    assert other == f"{INTRO} You wrote: “hello”"
    assert meant.choices[0].message.content == "for the copywriter"
    assert llm.control._call("GET", "script") == {"answers": []}


def test_it_streams_a_scripted_answer_and_applies_faults_first(azure, llm):
    llm.control.script("streamed words here")
    llm.control.add_fault("500", count=1)

    with pytest.raises(openai.InternalServerError):
        ask(azure, {"role": "user", "content": "hi"})
    stream = ask(azure, {"role": "user", "content": "hi"}, stream=True)

    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices) == "streamed words here"


@pytest.mark.parametrize(
    "body",
    [{}, {"answers": []}, {"answers": ["text"]}, {"answers": [{"text": ""}]}, {"answers": [{"text": "a", "x": 1}]}],
)
def test_it_refuses_a_malformed_script(llm, body):
    with pytest.raises(urllib.error.HTTPError) as raised:
        llm.control._call("POST", "script", body)

    assert raised.value.code == 400


def test_it_forgets_the_script_on_a_reset(azure, llm):
    llm.control.script("never used")

    llm.control.reset()

    assert ask(azure, {"role": "user", "content": "hi"}).choices[0].message.content == f"{INTRO} You wrote: “hi”"
