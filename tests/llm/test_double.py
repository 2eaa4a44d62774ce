"""The LLM double, driven by the real openai SDK (AzureOpenAI and OpenAI) over real HTTP."""

import base64
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import openai
import pytest

from linesim.llm.replies import INTRO
from tests.llm.conftest import image_data_url
from tests.ports import free_port

API_VERSION = "2024-10-21"


@pytest.fixture
def azure(llm):
    return openai.AzureOpenAI(
        azure_endpoint=llm.azure_endpoint, api_key=llm.api_key, api_version=API_VERSION, max_retries=0, timeout=5
    )


@pytest.fixture
def oai(llm):
    return openai.OpenAI(base_url=llm.openai_base_url, api_key=llm.api_key, max_retries=0, timeout=5)


def _user(text, images=()):
    if not images:
        return {"role": "user", "content": text}
    return {
        "role": "user",
        "content": [{"type": "text", "text": text}, *({"type": "image_url", "image_url": {"url": u}} for u in images)],
    }


def test_it_answers_on_the_azure_path_quoting_the_user_with_usage(azure):
    completion = azure.chat.completions.create(model="dep", messages=[_user("hello there")])

    assert completion.choices[0].message.content == f"{INTRO} You wrote: “hello there”"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == "dep"
    assert completion.usage.completion_tokens == 14  # words with their trailing whitespace
    assert completion.usage.prompt_tokens == 4 + 3  # 4 per message + ceil(11 / 4)


def test_it_answers_on_the_openai_path(oai):
    completion = oai.chat.completions.create(model="gpt-4o-mini", messages=[_user("hi")])

    assert completion.choices[0].message.content == f"{INTRO} You wrote: “hi”"
    assert completion.model == "gpt-4o-mini"


def test_it_says_a_local_double_answered_without_repeating_the_bots_instructions(azure):
    system = {"role": "system", "content": "You are the friendly assistant of this LINE official account."}
    picture = _user("Describe this picture briefly and helpfully.", images=[image_data_url("PNG")])
    document = _user("Summarise the document notes.txt in a few short points.\n\n---\nMilk, eggs")

    answers = [
        azure.chat.completions.create(model="dep", messages=[system, message]).choices[0].message.content
        for message in (picture, document)
    ]

    assert answers == [
        "This is the local LLM double, not a real model. I received your picture, but I cannot look at it.",
        "This is the local LLM double, not a real model. I received your message of 71 characters.",
    ]
    for answer in answers:
        assert "Describe" not in answer and "Summarise" not in answer and "friendly assistant" not in answer


def test_it_marks_the_answer_with_the_system_prompts_language(azure):
    messages = [{"role": "system", "content": "You are kind. Answer in ja."}, _user("こんにちは")]

    completion = azure.chat.completions.create(model="dep", messages=messages)

    assert completion.choices[0].message.content == f"[ja] {INTRO} You wrote: “こんにちは”"


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        ("Always answer in the language with the code 'th'.", f"[th] {INTRO} You wrote: “hi”"),
        ("Answer in pt-BR", f"[pt-BR] {INTRO} You wrote: “hi”"),
        ("Answer in the language the user writes in.", f"{INTRO} You wrote: “hi”"),
    ],
)
def test_it_reads_the_language_hint_only_where_a_code_ends_the_clause(azure, system, expected):
    messages = [{"role": "system", "content": system}, _user("hi")]

    assert azure.chat.completions.create(model="dep", messages=messages).choices[0].message.content == expected


FALLBACK_TH = (
    "Answer in the language the user writes in; when that is unclear, answer in the language with the code 'th'."
)


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("สวัสดีครับ", "th"),
        ("今日はいい天気ですね", "ja"),
        ("안녕하세요", "ko"),
        ("Hello, café?", "en"),
        ("天気", "th"),
        ("👍 42", "th"),
    ],
)
def test_it_answers_in_the_written_language_where_the_code_is_only_a_fallback(azure, said, expected):
    messages = [{"role": "system", "content": FALLBACK_TH}, _user(said)]

    content = azure.chat.completions.create(model="dep", messages=messages).choices[0].message.content

    assert content == f"[{expected}] {INTRO} You wrote: “{said}”"


def test_it_takes_the_fallback_for_a_picture_whatever_the_instruction_beside_it(azure):
    picture = image_data_url("PNG", size=(8, 8))
    messages = [{"role": "system", "content": FALLBACK_TH}, _user("Describe this picture.", images=[picture])]

    content = azure.chat.completions.create(model="dep", messages=messages).choices[0].message.content

    assert content.startswith(f"[th] {INTRO} I received your picture")


def test_it_keeps_to_a_code_given_in_a_sentence_of_its_own(azure):
    system = "Answer in the language the user writes in, briefly.\nAlways answer in the language with the code 'ja'."
    messages = [{"role": "system", "content": system}, _user("สวัสดี")]

    content = azure.chat.completions.create(model="dep", messages=messages).choices[0].message.content

    assert content == f"[ja] {INTRO} You wrote: “สวัสดี”"


def test_it_streams_azures_empty_first_chunk_then_tokens_then_usage(azure):
    stream = azure.chat.completions.create(
        model="dep", messages=[_user("one two three")], stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)

    first = chunks[0]
    assert first.choices == []
    assert first.model_extra["prompt_filter_results"][0]["content_filter_results"]["hate"]["filtered"] is False
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == f"{INTRO} You wrote: “one two three”"
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage.completion_tokens == 15


def test_it_streams_without_the_azure_chunk_on_the_openai_path(oai):
    chunks = list(oai.chat.completions.create(model="m", messages=[_user("hey")], stream=True))

    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == f"{INTRO} You wrote: “hey”"


def test_it_rejects_a_wrong_azure_key_with_azures_error(llm):
    client = openai.AzureOpenAI(azure_endpoint=llm.base_url, api_key="wrong", api_version=API_VERSION, max_retries=0)

    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="dep", messages=[_user("hi")])

    assert caught.value.status_code == 401
    assert caught.value.code == "401"
    assert "invalid subscription key" in caught.value.message


def test_it_rejects_a_wrong_bearer_key_with_openais_error(llm):
    client = openai.OpenAI(base_url=llm.openai_base_url, api_key="sk-wrong-key", max_retries=0)

    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="m", messages=[_user("hi")])

    assert caught.value.code == "invalid_api_key"
    assert "sk-wrong-key" not in caught.value.message


def test_it_answers_404_to_an_azure_call_without_api_version(llm):
    request = urllib.request.Request(
        f"{llm.base_url}/openai/deployments/dep/chat/completions",
        data=json.dumps({"messages": [_user("hi")]}).encode(),
        headers={"api-key": llm.api_key, "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)

    assert caught.value.code == 404
    assert json.loads(caught.value.read()) == {"error": {"code": "404", "message": "Resource not found"}}


def test_it_counts_valid_image_parts(azure):
    message = _user("what is this", images=[image_data_url("PNG"), image_data_url("JPEG")])

    completion = azure.chat.completions.create(model="dep", messages=[message])

    assert completion.choices[0].message.content == f"{INTRO} I received your 2 pictures, but I cannot look at them."
    assert completion.usage.prompt_tokens == 4 + 3 + 2 * 85


def test_it_rejects_an_image_that_does_not_decode(azure):
    message = _user("what is this", images=["data:image/png;base64,not-base64!!"])

    with pytest.raises(openai.BadRequestError) as caught:
        azure.chat.completions.create(model="dep", messages=[message])

    assert caught.value.code == "invalid_image_format"


def test_it_rejects_a_payload_that_is_not_the_declared_image_type(azure):
    message = _user("what is this", images=["data:image/png;base64,aGVsbG8gd29ybGQ="])

    with pytest.raises(openai.BadRequestError) as caught:
        azure.chat.completions.create(model="dep", messages=[message])

    assert "not a image/png image" in caught.value.message


def test_it_rejects_a_damaged_image(azure):
    head, payload = image_data_url("PNG", size=(64, 64)).split(",")
    damaged = f"{head},{base64.b64encode(base64.b64decode(payload)[:-30]).decode()}"

    with pytest.raises(openai.BadRequestError) as caught:
        azure.chat.completions.create(model="dep", messages=[_user("what is this", images=[damaged])])

    assert caught.value.body["message"] == "Invalid image data: the image is damaged."


def test_it_records_what_each_image_is_and_keeps_data_urls_short(llm, azure):
    url = image_data_url("JPEG", size=(40, 30))
    azure.chat.completions.create(model="dep", messages=[_user("look", images=[url])])

    [recorded] = llm.control.requests()

    assert recorded["images"] == [
        {
            "message": 0,
            "mime": "image/jpeg",
            "bytes": len(base64.b64decode(url.split(",")[1])),
            "width": 40,
            "height": 30,
        }
    ]
    part = recorded["body"]["messages"][0]["content"][1]
    assert part["image_url"]["url"] == f"data:image/jpeg;base64,...({len(url)} chars)"


def test_it_rejects_a_request_without_messages(oai):
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(model="m", messages=[])

    assert caught.value.param == "messages"


SEARCH_TOOL = {
    "type": "function",
    "function": {"name": "web_search", "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}},
}


def test_it_calls_web_search_when_asked_to_search_and_the_tool_is_offered(oai):
    completion = oai.chat.completions.create(model="m", messages=[_user("search: line bot")], tools=[SEARCH_TOOL])

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls[0].function.name == "web_search"
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"query": "line bot"}


def test_it_streams_a_tool_call_in_pieces(azure):
    stream = azure.chat.completions.create(
        model="dep", messages=[_user("search: line bot")], tools=[SEARCH_TOOL], stream=True
    )
    parts = [tc for c in stream if c.choices for tc in (c.choices[0].delta.tool_calls or [])]

    assert len(parts) > 1
    assert "".join(p.function.arguments or "" for p in parts) == '{"query": "line bot"}'


def test_it_does_not_call_a_tool_when_tool_choice_is_none(oai):
    completion = oai.chat.completions.create(
        model="m", messages=[_user("search: line bot")], tools=[SEARCH_TOOL], tool_choice="none"
    )

    assert completion.choices[0].message.content == f"{INTRO} You wrote: “search: line bot”"


def test_it_answers_from_the_tool_result(oai):
    messages = [
        _user("search: line bot"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "web_search", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "LINE is a messenger."},
    ]

    completion = oai.chat.completions.create(model="m", messages=messages, tools=[SEARCH_TOOL])

    assert completion.choices[0].message.content == f"{INTRO} Here is what web_search found: LINE is a messenger."


def test_it_gives_a_long_answer_of_the_asked_length(oai):
    completion = oai.chat.completions.create(model="m", messages=[_user("long: 12000")])

    assert len(completion.choices[0].message.content) == 12000


def test_it_cuts_the_answer_at_max_tokens(oai):
    completion = oai.chat.completions.create(model="m", messages=[_user("a b c d e f")], max_tokens=3)

    assert completion.choices[0].message.content == "This is the "
    assert completion.choices[0].finish_reason == "length"


def test_it_answers_429_with_retry_after_headers(llm, oai):
    llm.control.add_fault("429", count=1, retry_after=2)

    with pytest.raises(openai.RateLimitError) as caught:
        oai.chat.completions.create(model="m", messages=[_user("hi")])

    assert caught.value.response.headers["retry-after"] == "2"
    assert caught.value.response.headers["retry-after-ms"] == "2000"


def test_it_answers_500_when_told_to(llm, azure):
    llm.control.add_fault("500", count=1)

    with pytest.raises(openai.InternalServerError):
        azure.chat.completions.create(model="dep", messages=[_user("hi")])
    assert (
        azure.chat.completions.create(model="dep", messages=[_user("hi")]).choices[0].message.content
        == f"{INTRO} You wrote: “hi”"
    )


def test_it_hangs_past_the_client_timeout(llm, oai):
    llm.control.add_fault("timeout", count=1, hang_seconds=10)
    started = time.monotonic()

    with pytest.raises(openai.APITimeoutError):
        oai.with_options(timeout=0.3).chat.completions.create(model="m", messages=[_user("hi")])

    assert time.monotonic() - started < 2


def test_it_holds_a_whole_answer_while_stalled_and_sends_it_once_released(llm, oai):
    llm.control.add_fault("stall", count=1, hang_seconds=10)
    with pytest.raises(openai.APITimeoutError):
        oai.with_options(timeout=0.3, max_retries=0).chat.completions.create(model="m", messages=[_user("hi")])

    llm.control.add_fault("stall", count=1, hang_seconds=10)
    started = time.monotonic()
    answered = []
    thread = threading.Thread(
        target=lambda: answered.append(oai.chat.completions.create(model="m", messages=[_user("hi")]))
    )
    thread.start()
    time.sleep(0.3)
    llm.control.clear_faults()  # releases the stall
    thread.join(5)

    assert answered[0].choices[0].message.content == f"{INTRO} You wrote: “hi”"
    assert time.monotonic() - started < 5


def test_it_ends_an_answer_with_the_content_filter(llm, azure):
    llm.control.add_fault("content_filter", count=1)

    completion = azure.chat.completions.create(model="dep", messages=[_user("one two three four")])

    assert completion.choices[0].finish_reason == "content_filter"
    assert completion.choices[0].model_extra["content_filter_results"]["violence"]["filtered"] is True


def test_it_refuses_a_filtered_prompt_like_azure(llm, azure):
    llm.control.add_fault("prompt_filter", count=1)

    with pytest.raises(openai.BadRequestError) as caught:
        azure.chat.completions.create(model="dep", messages=[_user("hi")])

    assert caught.value.code == "content_filter"


def test_it_sends_contentless_chunks_first_in_empty_first_chunk_mode(llm, oai):
    llm.control.add_fault("empty_first_chunk", count=1)

    chunks = list(oai.chat.completions.create(model="m", messages=[_user("hi")], stream=True))

    assert chunks[0].choices == []
    assert chunks[1].choices[0].delta.content == ""
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == f"{INTRO} You wrote: “hi”"


def test_it_reports_an_error_inside_a_stream(llm, oai):
    llm.control.add_fault("stream_error", count=1)
    stream = oai.chat.completions.create(model="m", messages=[_user("one two three")], stream=True)

    with pytest.raises(openai.APIError) as caught:
        list(stream)

    assert caught.value.type == "server_error"


def test_it_drops_the_connection_when_told_to(llm, oai):
    llm.control.add_fault("disconnect", count=1)

    with pytest.raises(openai.APIConnectionError):
        oai.chat.completions.create(model="m", messages=[_user("hi")])


def test_it_hits_only_the_chosen_provider(llm, azure, oai):
    llm.control.add_fault("500", provider="azure")

    assert (
        oai.chat.completions.create(model="m", messages=[_user("hi")]).choices[0].message.content
        == f"{INTRO} You wrote: “hi”"
    )
    with pytest.raises(openai.InternalServerError):
        azure.chat.completions.create(model="dep", messages=[_user("hi")])


def test_it_hits_the_same_requests_for_the_same_seed(llm, oai):
    def run():
        llm.control.reset()
        llm.control.add_fault("500", rate=0.5)
        outcomes = []
        for _ in range(12):
            try:
                oai.chat.completions.create(model="m", messages=[_user("hi")])
                outcomes.append("ok")
            except openai.InternalServerError:
                outcomes.append("500")
        return outcomes

    first = run()
    assert run() == first
    assert "ok" in first and "500" in first


def test_it_adds_the_configured_latency(llm, oai):
    llm.control.configure(latency_ms=200)
    started = time.monotonic()

    oai.chat.completions.create(model="m", messages=[_user("hi")])

    assert time.monotonic() - started >= 0.2


def test_it_streams_at_the_configured_token_rate(llm, oai):
    llm.control.configure(tokens_per_second=20)
    started = time.monotonic()

    list(oai.chat.completions.create(model="m", messages=[_user("a b c d e f g")], stream=True))

    assert time.monotonic() - started >= 8 / 20 * 0.9


def test_it_records_each_request_with_its_outcome(llm, azure):
    llm.control.add_fault("500", count=1)
    with pytest.raises(openai.InternalServerError):
        azure.chat.completions.create(model="dep", messages=[_user("first")])
    azure.chat.completions.create(model="dep", messages=[_user("second")], user="U123")

    recorded = llm.control.requests()

    assert [(r["status"], r["fault"]) for r in recorded] == [(500, "500"), (200, None)]
    assert recorded[1]["deployment"] == "dep"
    assert recorded[1]["api_version"] == API_VERSION
    assert recorded[1]["body"]["messages"] == [_user("second")]
    assert recorded[1]["body"]["user"] == "U123"


def test_it_forgets_faults_and_requests_on_reset(llm, oai):
    llm.control.add_fault("500")
    with pytest.raises(openai.InternalServerError):
        oai.chat.completions.create(model="m", messages=[_user("hi")])

    llm.control.reset()

    assert llm.control.requests() == []
    assert llm.control.faults() == []
    assert (
        oai.chat.completions.create(model="m", messages=[_user("hi")]).choices[0].message.content
        == f"{INTRO} You wrote: “hi”"
    )


def test_it_rejects_an_unknown_fault_kind_on_its_control_api(llm):
    with pytest.raises(urllib.error.HTTPError) as caught:
        llm.control.add_fault("meltdown")

    assert caught.value.code == 400
    assert "kind must be one of" in json.loads(caught.value.read())["error"]


@pytest.mark.integration
def test_it_starts_with_its_documented_command():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "linesim.llm", "--port", str(port), "--api-key", "cli-key"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="cli-key", max_retries=0, timeout=2)
        deadline = time.monotonic() + 15
        while True:
            try:
                completion = client.chat.completions.create(model="m", messages=[_user("from the cli")])
                break
            except openai.APIConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert completion.choices[0].message.content == f"{INTRO} You wrote: “from the cli”"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_it_gives_the_environment_of_a_bot_process_through_its_test_handle(llm):
    assert llm.env(deployment="dep") == {
        "LLM_PROVIDER": "azure",
        "AZURE_OPENAI_ENDPOINT": llm.base_url,
        "AZURE_OPENAI_API_KEY": "local-llm-key",
        "AZURE_OPENAI_DEPLOYMENT": "dep",
    }
