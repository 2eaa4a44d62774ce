from tests.richmessages.browser.conftest import browser, page_as  # noqa: F401 - the console's signed-in pages
