"""Debian's Chromium driven by Playwright: the one place browser tests launch it (never a downloaded browser)."""

import io
import os
from pathlib import Path

from PIL import Image

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


# Screenshots for the documentation, written only when DOCS_SCREENSHOTS=1 (they are committed under docs/img/).
DOCS_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "img"
DOCS_MAX_WIDTH = 1100


def docs_screenshot(page_or_locator, name: str, **options) -> Path | None:
    """With ``DOCS_SCREENSHOTS=1``, saves ``docs/img/<name>.png`` of a page or of one element (a Playwright
    locator), at most DOCS_MAX_WIDTH pixels wide and in 256 colours, so that the repository stays small.
    A copy goes to var/screenshots either way, to look at after the run."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    data = page_or_locator.screenshot(path=SCREENSHOTS / f"docs-{name}.png", **options)
    if os.environ.get("DOCS_SCREENSHOTS") != "1":
        return None
    image = Image.open(io.BytesIO(data)).convert("RGB")
    if image.width > DOCS_MAX_WIDTH:
        image = image.resize((DOCS_MAX_WIDTH, round(image.height * DOCS_MAX_WIDTH / image.width)), Image.LANCZOS)
    DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
    path = DOCS_IMAGES / f"{name}.png"
    image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    return path
