"""core.llm against the LLM double: the real openai SDK over real HTTP."""

import json
import threading
import time

import pytest

from core.errors import ConfigurationError, LLMError
from core.llm.client import ChatResult, ContentFilteredError, ToolSpec, get_llm_client
from core.llm.search import web_search_tool
from linesim.llm.replies import INTRO, SAMPLE_TEXTS, prompt_tokens
from tests.llm.conftest import image_data_url

HELLO = [{"role": "user", "content": "hello there"}]


def test_it_answers_through_azure_with_usage_and_latency(azure_settings, llm):
    llm.control.configure(latency_ms=50)

    result = get_llm_client().chat(HELLO)

    assert isinstance(result, ChatResult)
    assert result.text == f"{INTRO} You wrote: “hello there”"
    assert (result.prompt_tokens, result.completion_tokens) == (7, 14)
    assert result.finish_reason == "stop"
    assert result.model == "chat-deployment"
    assert result.latency_ms >= 50
    [recorded] = llm.control.requests()
    assert recorded["provider"] == "azure"
    assert recorded["deployment"] == "chat-deployment"
    assert "stream" not in recorded["body"]  # the answer goes to LINE whole, so it is asked for whole


def test_it_keeps_the_connection_to_the_model_from_one_answer_to_the_next(azure_settings, llm):
    client = get_llm_client()

    first = client.chat(HELLO)
    second = client.chat([{"role": "user", "content": "and again"}])

    assert first.text and second.text
    connections = [recorded["connection"] for recorded in llm.control.requests()]
    assert len(connections) == 2 and connections[0]
    assert connections[0] == connections[1]


def test_it_answers_through_an_openai_compatible_base_url(openai_settings, llm):
    result = get_llm_client().chat(HELLO, model="other-model", temperature=0.2, max_tokens=50, user="U1")

    assert result.text == f"{INTRO} You wrote: “hello there”"
    assert result.model == "other-model"
    body = llm.control.requests()[0]["body"]
    assert llm.control.requests()[0]["provider"] == "openai"
    assert (body["temperature"], body["max_tokens"], body["user"]) == (0.2, 50, "U1")


def test_it_asks_for_a_response_format_when_given_one(azure_settings, llm):
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "greeting", "schema": {"type": "object", "properties": {"text": {"type": "string"}}}},
    }

    result = get_llm_client().chat(HELLO, response_format=response_format)

    assert json.loads(result.text) == {"text": SAMPLE_TEXTS["en"][0]}
    assert llm.control.requests()[0]["body"]["response_format"] == response_format


def test_it_sends_the_conversation_to_the_model_exactly_as_given(azure_settings, llm):
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "You wrote: first"},
        {"role": "user", "content": [{"type": "text", "text": "second"}]},
    ]

    get_llm_client().chat(messages)

    [recorded] = llm.control.requests()
    assert recorded["body"]["messages"] == messages
    assert recorded["body"]["model"] == "chat-deployment"


def test_it_answers_in_the_language_the_system_prompt_asks_for(azure_settings):
    messages = [{"role": "system", "content": "Answer in th."}, {"role": "user", "content": "สวัสดี"}]

    assert get_llm_client().chat(messages).text == f"[th] {INTRO} You wrote: “สวัสดี”"


def test_it_sends_image_parts(azure_settings):
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is it"},
                {"type": "image_url", "image_url": {"url": image_data_url("JPEG")}},
            ],
        }
    ]

    assert get_llm_client().chat(messages).text == f"{INTRO} I received your picture, but I cannot look at it."


def test_it_reports_a_refused_image_as_a_non_retryable_error(azure_settings):
    messages = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@"}}]}]

    with pytest.raises(LLMError) as caught:
        get_llm_client().chat(messages)

    assert (caught.value.status, caught.value.retryable) == (400, False)


def test_it_lets_the_sdk_retry_a_429_after_its_retry_after(azure_settings, llm):
    azure_settings.LLM_MAX_RETRIES = 2
    llm.control.add_fault("429", count=1, retry_after=0.05)

    result = get_llm_client().chat(HELLO)

    assert result.text == f"{INTRO} You wrote: “hello there”"
    assert [(r["status"], r["retry_count"]) for r in llm.control.requests()] == [(429, 0), (200, 1)]


def test_it_gives_up_on_persistent_429_with_a_retryable_error(azure_settings, llm):
    azure_settings.LLM_MAX_RETRIES = 1
    llm.control.add_fault("429", retry_after=0.05)

    with pytest.raises(LLMError) as caught:
        get_llm_client().chat(HELLO)

    assert (caught.value.status, caught.value.retryable) == (429, True)
    assert caught.value.details["retry_after"] == "1"
    assert len(llm.control.requests()) == 2


def test_it_does_not_wait_for_a_retry_after_longer_than_allowed(azure_settings, llm):
    azure_settings.LLM_MAX_RETRIES = 2
    azure_settings.LLM_MAX_RETRY_AFTER = 1.0
    llm.control.add_fault("429", count=1, retry_after=30)
    started = time.monotonic()

    with pytest.raises(LLMError) as caught:
        get_llm_client().chat(HELLO)

    assert (caught.value.status, caught.value.retryable) == (429, True)
    assert caught.value.details["retry_after"] == "30"
    assert time.monotonic() - started < 1
    assert len(llm.control.requests()) == 1


def test_it_bounds_each_attempt_by_what_is_left_of_the_deadline(azure_settings, llm):
    azure_settings.LLM_READ_TIMEOUT = 10
    azure_settings.LLM_TOTAL_TIMEOUT = 0.4
    llm.control.add_fault("timeout", hang_seconds=10)
    started = time.monotonic()

    with pytest.raises(LLMError) as caught:
        get_llm_client().chat(HELLO)

    assert caught.value.retryable is True
    assert time.monotonic() - started < 1.5


def test_it_reports_an_answer_without_text_as_an_error(azure_settings, llm):
    with pytest.raises(LLMError, match="empty answer"):
        get_llm_client().chat([{"role": "user", "content": "long: 0"}])


def test_it_maps_a_500_to_a_retryable_error(azure_settings, llm):
    llm.control.add_fault("500", count=1)

    with pytest.raises(LLMError) as caught:
        get_llm_client().chat(HELLO)

    assert (caught.value.status, caught.value.retryable) == (500, True)


def test_it_lets_the_sdk_retry_a_500(azure_settings, llm):
    azure_settings.LLM_MAX_RETRIES = 1
    llm.control.add_fault("500", count=1)

    assert get_llm_client().chat(HELLO).text == f"{INTRO} You wrote: “hello there”"
    assert [r["status"] for r in llm.control.requests()] == [500, 200]


def test_it_times_out_quickly_when_the_model_does_not_answer(azure_settings, llm):
    azure_settings.LLM_READ_TIMEOUT = 0.3
    llm.control.add_fault("timeout", hang_seconds=10)
    started = time.monotonic()

    with pytest.raises(LLMError) as caught:
        get_llm_client().chat(HELLO)

    assert caught.value.retryable is True
    assert "in time" in caught.value.message
    assert time.monotonic() - started < 2


def test_it_times_out_when_the_model_holds_its_answer(azure_settings, llm):
    azure_settings.LLM_READ_TIMEOUT = 0.3
    llm.control.add_fault("stall", hang_seconds=10)

    with pytest.raises(LLMError) as caught:
        get_llm_client().chat(HELLO)

    assert caught.value.retryable is True


def test_it_stops_waiting_for_a_slow_answer_at_the_total_deadline(azure_settings, llm):
    azure_settings.LLM_TOTAL_TIMEOUT = 0.5
    llm.control.configure(tokens_per_second=20)
    started = time.monotonic()

    with pytest.raises(LLMError) as caught:
        get_llm_client().chat([{"role": "user", "content": "long: 2000"}])

    assert caught.value.retryable is True
    assert time.monotonic() - started < 1.5


def test_it_maps_a_dropped_connection_to_a_retryable_error(azure_settings, llm):
    llm.control.add_fault("disconnect", count=1)

    with pytest.raises(LLMError) as caught:
        get_llm_client().chat(HELLO)

    assert (caught.value.status, caught.value.retryable) == (None, True)


def test_it_raises_content_filtered_when_the_answer_is_cut_by_the_filter(azure_settings, llm):
    llm.control.add_fault("content_filter", count=1)

    with pytest.raises(ContentFilteredError) as caught:
        get_llm_client().chat([{"role": "user", "content": "one two three four five"}])

    assert caught.value.code == "llm_content_filtered"
    assert caught.value.retryable is False


def test_it_raises_content_filtered_when_azure_refuses_the_prompt(azure_settings, llm):
    llm.control.add_fault("prompt_filter", count=1)

    with pytest.raises(ContentFilteredError):
        get_llm_client().chat(HELLO)


def test_it_reports_a_rejected_key_as_a_non_retryable_error(azure_settings):
    azure_settings.AZURE_OPENAI_API_KEY = "wrong-key"

    with pytest.raises(LLMError) as caught:
        get_llm_client().chat(HELLO)

    assert (caught.value.status, caught.value.retryable) == (401, False)
    assert "wrong-key" not in str(caught.value.details)


def test_it_refuses_to_build_without_azure_settings_with_an_error_callers_already_handle(azure_settings):
    azure_settings.AZURE_OPENAI_ENDPOINT = None

    with pytest.raises(ConfigurationError) as caught:
        get_llm_client()

    assert isinstance(caught.value, LLMError)
    assert caught.value.retryable is False


def test_it_refuses_to_build_without_an_openai_key(openai_settings):
    openai_settings.OPENAI_API_KEY = None

    with pytest.raises(LLMError, match="OPENAI_API_KEY"):
        get_llm_client()


def test_it_opens_its_breaker_after_repeated_failures_and_fails_fast(azure_settings, llm):
    azure_settings.LLM_BREAKER_FAIL_MAX = 2
    llm.control.add_fault("500")
    client = get_llm_client()
    for _ in range(2):
        with pytest.raises(LLMError):
            client.chat(HELLO)

    with pytest.raises(LLMError) as caught:
        client.chat(HELLO)

    assert caught.value.details == {"circuit": "open"}
    assert caught.value.retryable is True
    assert client.breaker_state == "open"
    assert len(llm.control.requests()) == 2


def test_it_closes_its_half_open_breaker_after_a_good_probe(azure_settings, llm):
    azure_settings.LLM_BREAKER_FAIL_MAX = 1
    azure_settings.LLM_BREAKER_RESET_TIMEOUT = 0.3
    llm.control.add_fault("500", count=1)
    client = get_llm_client()
    with pytest.raises(LLMError):
        client.chat(HELLO)
    assert client.breaker_state == "open"

    time.sleep(0.35)

    assert client.chat(HELLO).text == f"{INTRO} You wrote: “hello there”"
    assert client.breaker_state == "closed"


def test_it_reopens_its_breaker_when_the_probe_fails(azure_settings, llm):
    azure_settings.LLM_BREAKER_FAIL_MAX = 1
    azure_settings.LLM_BREAKER_RESET_TIMEOUT = 0.3
    llm.control.add_fault("500")
    client = get_llm_client()
    with pytest.raises(LLMError):
        client.chat(HELLO)
    time.sleep(0.35)

    with pytest.raises(LLMError) as caught:
        client.chat(HELLO)

    assert caught.value.status == 500
    assert client.breaker_state == "open"


def test_it_keeps_its_breaker_closed_on_errors_that_say_nothing_about_the_service(azure_settings, llm):
    azure_settings.LLM_BREAKER_FAIL_MAX = 1
    llm.control.add_fault("prompt_filter", count=3)
    client = get_llm_client()
    for _ in range(3):
        with pytest.raises(ContentFilteredError):
            client.chat(HELLO)

    assert client.breaker_state == "closed"


def test_it_runs_the_web_search_tool_and_answers_from_its_result(azure_settings, llm):
    azure_settings.WEB_SEARCH_PROVIDER = "fake"

    result = get_llm_client().chat([{"role": "user", "content": "search: line api"}], tools=[web_search_tool()])

    assert result.text.startswith(
        f"{INTRO} Here is what web_search found: 1. line api - result 1 <https://search.example/line-api/1>"
    )
    first, second = llm.control.requests()
    assert first["body"]["tools"][0]["function"]["name"] == "web_search"
    assert second["body"]["messages"][-1]["role"] == "tool"
    assert second["body"]["messages"][-2]["tool_calls"][0]["function"]["arguments"] == '{"query": "line api"}'
    assert result.prompt_tokens == prompt_tokens(first["body"]["messages"]) + prompt_tokens(second["body"]["messages"])


def test_it_tells_the_model_when_the_search_fails(azure_settings):
    azure_settings.WEB_SEARCH_PROVIDER = "fake"

    result = get_llm_client().chat([{"role": "user", "content": "search: fail please"}], tools=[web_search_tool()])

    assert (
        result.text
        == f"{INTRO} Here is what web_search found: error: web search failed (The fake web search was told to fail.)"
    )


def test_it_tells_the_model_when_a_tool_raises(azure_settings):
    def broken(query):
        raise RuntimeError("boom")

    tool = ToolSpec("web_search", "search", {"type": "object", "properties": {}}, broken)

    result = get_llm_client().chat([{"role": "user", "content": "search: x"}], tools=[tool])

    assert result.text == f"{INTRO} Here is what web_search found: error: web_search failed (RuntimeError)"


def test_it_stops_offering_tools_after_the_round_limit(azure_settings, llm):
    azure_settings.LLM_MAX_TOOL_ROUNDS = 0
    azure_settings.WEB_SEARCH_PROVIDER = "fake"

    result = get_llm_client().chat([{"role": "user", "content": "search: x"}], tools=[web_search_tool()])

    assert result.text == f"{INTRO} You wrote: “search: x”"
    assert "tools" not in llm.control.requests()[0]["body"]


def test_it_makes_the_model_answer_in_words_after_the_last_tool_round(azure_settings, llm):
    azure_settings.LLM_MAX_TOOL_ROUNDS = 1
    azure_settings.WEB_SEARCH_PROVIDER = "fake"

    result = get_llm_client().chat([{"role": "user", "content": "search: x"}], tools=[web_search_tool()])

    assert result.text.startswith(f"{INTRO} Here is what web_search found: 1. x - result 1")
    first, second = (r["body"] for r in llm.control.requests())
    assert first["tool_choice"] == "auto"
    assert second["tool_choice"] == "none"
    assert second["tools"] == first["tools"]


def test_it_rebuilds_the_client_when_settings_change(azure_settings):
    first = get_llm_client()

    azure_settings.LLM_MAX_RETRIES = 1

    assert get_llm_client() is not first
    assert get_llm_client().sdk.max_retries == 1


def test_it_builds_the_clients_before_a_worker_forks_and_each_child_answers_through_its_own_connection(
    azure_settings, llm
):
    import os

    from core.llm import client as llm_client
    from core.startup import warm_up_clients

    assert llm_client._client._value is None
    warm_up_clients()
    built = llm_client._client._value
    assert built is not None and get_llm_client() is built
    assert llm.control.requests() == []  # built, not connected

    child = os.fork()
    if child == 0:  # the pool's child: the client came with the fork
        ok = False
        try:
            ok = get_llm_client() is built and bool(built.chat(HELLO).text)
        finally:
            os._exit(0 if ok else 1)
    deadline = time.monotonic() + 30
    while (ended := os.waitpid(child, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if ended[0] == 0:  # still running: a child stuck after the fork must not hang the suite
        os.kill(child, 9)
        os.waitpid(child, 0)
        pytest.fail("the forked child did not answer within 30 s")
    status = ended[1]

    assert os.waitstatus_to_exitcode(status) == 0
    assert len(llm.control.requests()) == 1
    assert get_llm_client() is built


def test_it_leaves_a_client_it_cannot_build_to_say_why_on_first_use(azure_settings, caplog):
    from core.startup import warm_up_clients

    azure_settings.AZURE_OPENAI_API_KEY = ""

    warm_up_clients()

    assert [r.msg["client"] for r in caplog.records if isinstance(r.msg, dict)] == ["llm"]
    with pytest.raises(ConfigurationError):
        get_llm_client()


def test_it_runs_a_processs_calls_to_the_model_side_by_side(azure_settings, llm):
    # Worker threads share one client; each answer must not wait for another thread's (core.breakers).
    llm.control.configure(latency_ms=600)
    client = get_llm_client()
    client.chat(HELLO)  # the connection, made once
    results = []
    threads = [threading.Thread(target=lambda: results.append(client.chat(HELLO))) for _ in range(2)]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert len(results) == 2
    # The model saw the second request while it still worked on the first: one after the other, they would
    # reach it at least its 0.6 s apart.
    first, second = (recorded["received_at"] for recorded in llm.control.requests()[-2:])
    assert abs(second - first) < 0.3
