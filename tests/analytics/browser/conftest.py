# The signed-in laptop-sized console of the ops-console browser tests.
from tests.accounts.browser.conftest import browser, console  # noqa: F401
