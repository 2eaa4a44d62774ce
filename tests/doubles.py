"""The LINE Platform and the language model as tests meet them: the linesim doubles, running in this process,
with the bot's own clients (core.line.client, core.llm.client) pointed at them over HTTP.

    def test_it_answers(line, llm, ...):
        ...
        assert [m["message"]["text"] for m in line.control.messages(user_id=USER)] == [answer_to("hi")]
        assert llm.control.requests()[0]["body"]["messages"][-1]["content"] == "hi"

Both doubles start once per test session. The ``line`` and ``llm`` fixtures point the settings at them and
reset them (state, recorded requests, faults) before each test; faults are injected through their control APIs
(``line.control.set_faults(...)``, ``llm.control.add_fault(...)``). A changed LINE_*, LLM_*, AZURE_OPENAI_* or
OPENAI_* setting drops the process-wide clients, so every test gets clients built for it (a fresh LLM breaker too).
"""

from __future__ import annotations

import pytest

from linesim.line.testing import running_line_double
from linesim.llm.replies import INTRO, acknowledgement
from linesim.llm.testing import running_llm_double


def answer_to(text: str, *, language: str | None = None, images: int = 0) -> str:
    """What the LLM double answers to a user's ``text`` (linesim/llm/replies.py states the rules)."""
    prefix = f"[{language}] " if language else ""
    return f"{prefix}{INTRO} {acknowledgement(text, images)}"


CHANNEL_SECRET = "unit-test-channel-secret"
ACCESS_TOKEN = "unit-test-access-token"
DEPLOYMENT = "gpt-4o-mini"


@pytest.fixture(scope="session")
def line_double():
    with running_line_double(channel_secret=CHANNEL_SECRET, access_token=ACCESS_TOKEN) as handle:
        yield handle


@pytest.fixture(scope="session")
def llm_double():
    with running_llm_double() as handle:
        yield handle


@pytest.fixture
def line(line_double, settings):
    """The LINE double, fresh, with core.line.client pointed at it and retries without waiting."""
    settings.LINE_API_BASE_URL = line_double.base_url
    settings.LINE_DATA_API_BASE_URL = line_double.base_url
    settings.LINE_CHANNEL_ACCESS_TOKEN = line_double.access_token
    settings.LINE_CHANNEL_SECRET = line_double.channel_secret
    settings.LINE_API_RETRY_WAIT = 0.0
    line_double.control.reset()
    return line_double


@pytest.fixture
def llm(llm_double, settings):
    """The LLM double on its Azure path, fresh, with core.llm.client pointed at it, short timeouts and no SDK
    retries (a test injects exactly the failures it means)."""
    settings.LLM_PROVIDER = "azure"
    settings.AZURE_OPENAI_ENDPOINT = llm_double.azure_endpoint
    settings.AZURE_OPENAI_API_KEY = llm_double.api_key
    settings.AZURE_OPENAI_DEPLOYMENT = DEPLOYMENT
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_CONNECT_TIMEOUT = 1.0
    settings.LLM_READ_TIMEOUT = 2.0
    settings.LLM_TOTAL_TIMEOUT = 5.0
    llm_double.control.reset()
    return llm_double


def delivered_texts(line, **chat) -> list[str]:
    """The texts LINE delivered for the bot (by reply or push), oldest first; ``user_id=`` or ``chat=`` narrows."""
    return [m["message"]["text"] for m in line.control.messages(**chat) if m["message"].get("type") == "text"]
