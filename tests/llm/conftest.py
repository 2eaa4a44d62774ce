import base64
import io

import pytest
from PIL import Image

from core.llm.client import reset_llm_client
from core.llm.search import reset_search_provider
from linesim.llm.testing import running_llm_double


@pytest.fixture(scope="module")
def llm_double():
    with running_llm_double(seed=7) as handle:
        yield handle


@pytest.fixture
def llm(llm_double):
    """The module's LLM double, reset before each test."""
    llm_double.control.reset()
    yield llm_double
    llm_double.control.reset()


@pytest.fixture
def azure_settings(settings, llm):
    """core.llm pointed at the double's Azure path, with short timeouts and no SDK retries."""
    settings.LLM_PROVIDER = "azure"
    settings.AZURE_OPENAI_ENDPOINT = llm.azure_endpoint
    settings.AZURE_OPENAI_API_KEY = llm.api_key
    settings.AZURE_OPENAI_DEPLOYMENT = "chat-deployment"
    settings.AZURE_OPENAI_API_VERSION = "2024-10-21"
    settings.LLM_CONNECT_TIMEOUT = 1.0
    settings.LLM_READ_TIMEOUT = 2.0
    settings.LLM_TOTAL_TIMEOUT = 5.0
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_MAX_RETRY_AFTER = 5.0
    settings.LLM_MAX_TOOL_ROUNDS = 3
    settings.LLM_BREAKER_FAIL_MAX = 5
    settings.LLM_BREAKER_RESET_TIMEOUT = 30.0
    settings.WEB_SEARCH_PROVIDER = ""
    reset_llm_client()
    reset_search_provider()
    yield settings
    reset_llm_client()
    reset_search_provider()


@pytest.fixture
def openai_settings(azure_settings, llm):
    azure_settings.LLM_PROVIDER = "openai"
    azure_settings.OPENAI_BASE_URL = llm.openai_base_url
    azure_settings.OPENAI_API_KEY = llm.api_key
    azure_settings.OPENAI_MODEL = "gpt-4o-mini"
    reset_llm_client()
    return azure_settings


def image_data_url(fmt: str = "PNG", size: tuple[int, int] = (8, 8)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    mime = "image/png" if fmt == "PNG" else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode()}"
