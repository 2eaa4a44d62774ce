"""Every test is named after the one behaviour it checks: ``test_it_<does something>``."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def _test_functions(body: list[ast.stmt]):
    """What pytest collects as a test: functions at module level and methods of classes, nested ones too."""
    for node in body:
        if isinstance(node, FUNCTIONS) and node.name.startswith("test_"):
            yield node
        elif isinstance(node, ast.ClassDef):
            yield from _test_functions(node.body)


def misnamed_tests(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("test_*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in _test_functions(tree.body):
            if not node.name.startswith("test_it_"):
                found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name}")
    return found


def test_it_names_every_test_after_the_behaviour_it_checks():
    misnamed = misnamed_tests(TESTS)

    assert not misnamed, "name these test_it_<does something>:\n" + "\n".join(misnamed)


def test_it_catches_misnamed_tests_at_module_level_and_in_classes(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_sample.py").write_text(
        "def test_it_works():\n"
        "    def test_inner():\n"
        "        pass\n"
        "\n"
        "def test_a_thing_works():\n"
        "    pass\n"
        "\n"
        "async def test_an_async_thing_works():\n"
        "    pass\n"
        "\n"
        "def helper_test_():\n"
        "    pass\n"
        "\n"
        "class TestThings:\n"
        "    def test_it_counts(self):\n"
        "        pass\n"
        "\n"
        "    def test_counting_works(self):\n"
        "        pass\n"
    )
    (tmp_path / "tests" / "helpers.py").write_text("def test_not_collected():\n    pass\n")

    assert misnamed_tests(tmp_path / "tests") == [
        "tests/test_sample.py:5 test_a_thing_works",
        "tests/test_sample.py:8 test_an_async_thing_works",
        "tests/test_sample.py:18 test_counting_works",
    ]
