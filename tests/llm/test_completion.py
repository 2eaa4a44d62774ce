"""core.llm.completion: a whole completion's body read into a round, whatever shape a server gives it."""

import pytest

from core.llm.completion import Round, ToolCall, round_read


def _body(message, *, finish_reason="stop", usage=None):
    body = {"model": "gpt-4o-mini", "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}]}
    if usage is not None:
        body["usage"] = usage
    return body


def test_it_reads_the_text_finish_reason_model_and_usage():
    body = _body(
        {"role": "assistant", "content": "สวัสดี こんにちは"}, usage={"prompt_tokens": 12, "completion_tokens": 5}
    )

    assert round_read(body) == Round(
        text="สวัสดี こんにちは", finish_reason="stop", model="gpt-4o-mini", prompt_tokens=12, completion_tokens=5
    )


def test_it_reads_tool_calls_in_order():
    calls = [
        {"id": "call_1", "type": "function", "function": {"name": "web_search", "arguments": '{"q": "a"}'}},
        {"id": "call_2", "type": "function", "function": {"name": "web_search", "arguments": '{"q": "b"}'}},
    ]

    current = round_read(_body({"role": "assistant", "content": None, "tool_calls": calls}, finish_reason="tool_calls"))

    assert current.text == ""
    assert current.tool_calls == {
        0: ToolCall(id="call_1", name="web_search", arguments='{"q": "a"}'),
        1: ToolCall(id="call_2", name="web_search", arguments='{"q": "b"}'),
    }


def test_it_leaves_usage_unknown_when_a_server_sends_none_or_nonsense():
    # The client then estimates the counts (core.llm.tokens).
    assert round_read(_body({"content": "hi"})).prompt_tokens is None
    current = round_read(_body({"content": "hi"}, usage={"prompt_tokens": "12", "completion_tokens": -1}))
    assert (current.prompt_tokens, current.completion_tokens) == (None, None)


@pytest.mark.parametrize(
    "body",
    [
        None,
        "<html>Bad gateway</html>",
        {},
        {"choices": []},
        {"choices": "nope"},
        {"choices": [{"message": "nope"}]},
        {"choices": [{"message": {"content": 42, "tool_calls": "nope"}}]},
    ],
)
def test_it_reads_a_body_of_an_unexpected_shape_as_an_empty_answer(body):
    current = round_read(body)

    assert (current.text, current.tool_calls) == ("", {})


def test_it_skips_tool_calls_of_an_unexpected_shape():
    calls = ["nope", {"id": "call_1", "function": "nope"}]

    current = round_read(_body({"content": None, "tool_calls": calls}))

    assert current.tool_calls == {1: ToolCall(id="call_1")}
