"""The ops console previews rich messages with the LINE simulator's own Flex renderer: its copy stays identical."""

from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SIMULATOR = ROOT / "linesim" / "line" / "static"
CONSOLE = ROOT / "richmessages" / "static" / "richmessages"


@pytest.mark.parametrize("name", ["flex.js", "flex.css"])
def test_it_keeps_the_consoles_copy_of_the_renderer_identical_to_the_simulators(name):
    assert (CONSOLE / name).read_bytes() == (SIMULATOR / name).read_bytes(), (
        f"richmessages/static/richmessages/{name} differs from linesim/line/static/{name}: "
        f"copy the simulator's file over the console's"
    )


def test_it_serves_the_simulators_renderer_with_its_stylesheet():
    page = (SIMULATOR / "simulator.html").read_text()

    assert page.index("flex.css") < page.index("simulator.css")
    assert "/simulator/static/flex.js" in page
