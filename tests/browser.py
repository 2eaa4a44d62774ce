"""Debian's Chromium driven by Playwright: the one place browser tests launch it (never a downloaded browser)."""

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# Screenshots of browser tests, to look at after a run (var/ is not committed).
SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
# A common laptop screen: the ops console must be usable at this size.
LAPTOP_VIEWPORT = {"width": 1366, "height": 768}


def screenshot(page, name: str, *, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=full_page)
    return path


def horizontal_overflow(page) -> int:
    """How many pixels the page is wider than the window (0 when nothing is off-screen sideways)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
