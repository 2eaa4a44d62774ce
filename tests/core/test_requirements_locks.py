"""The hash-locked requirement sets stay complete, consistent with each other and with what installs them.

The .txt files are compiled by scripts/lock_requirements.sh; these checks catch a hand edit of a .in that was not
compiled, a lock whose sets disagree, and product code that starts importing what only the local doubles install.
"""

import ast
import re
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements"
SETS = ["base", "doubles", "prod", "dev"]
NOT_PRODUCT = {"linesim", "tests", "benchmarks", "scripts", ".venv", "var"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def logical_lines(path: Path) -> list[str]:
    text = path.read_text().replace("\\\n", " ")
    lines = (line.split("#")[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def direct_pins(name: str) -> dict[str, str]:
    pins = {}
    for line in logical_lines(REQUIREMENTS / f"{name}.in"):
        if line.startswith("-"):
            continue
        requirement, version = line.split("==")
        pins[canonical(requirement.split("[")[0])] = version.strip()
    return pins


def locked(name: str) -> dict[str, tuple[str, list[str]]]:
    """package -> (version, hashes) of one lock file."""
    entries = {}
    for line in logical_lines(REQUIREMENTS / f"{name}.txt"):
        requirement, *options = line.split()
        package, version = requirement.split("==")
        hashes = [option for option in options if option.startswith("--hash=sha256:")]
        entries[canonical(package)] = (version, hashes)
    return entries


@pytest.mark.parametrize("name", SETS)
def test_it_pins_and_hashes_every_locked_package(name):
    entries = locked(name)

    assert entries
    assert not [package for package, (_, hashes) in entries.items() if not hashes]


@pytest.mark.parametrize("name", SETS)
def test_it_keeps_each_lock_compiled_from_its_in_file(name):
    versions = {package: version for package, (version, _) in locked(name).items()}

    stale = {package: version for package, version in direct_pins(name).items() if versions.get(package) != version}

    assert not stale, f"requirements/{name}.in changed without ./scripts/lock_requirements.sh: {stale}"


def test_it_pins_every_shared_package_alike_across_the_sets():
    seen: dict[str, tuple[str, str]] = {}
    conflicts = []
    for name in SETS:
        for package, (version, _) in locked(name).items():
            first = seen.setdefault(package, (name, version))
            if first[1] != version:
                conflicts.append(f"{package}: {first[0]}.txt has {first[1]}, {name}.txt has {version}")

    assert not conflicts


def test_it_installs_exactly_the_audited_runtime_locks_in_the_image():
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    audit_script = (ROOT / "scripts" / "audit_requirements.py").read_text()

    installed = re.findall(r"-r (requirements/\w+\.txt)", dockerfile)

    assert installed == ["requirements/base.txt", "requirements/prod.txt"]
    assert "--require-hashes" in dockerfile
    assert 'REQUIREMENTS = ["requirements/base.txt", "requirements/prod.txt"]' in audit_script


def imported_top_level_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
    return modules


def test_it_imports_nothing_in_product_code_that_only_the_doubles_install():
    doubles_only = set(direct_pins("doubles")) - set(direct_pins("base"))
    modules = {
        module
        for module, distributions in metadata.packages_distributions().items()
        if doubles_only & {canonical(distribution) for distribution in distributions}
    }
    assert modules, "the doubles' packages are not installed in this environment"

    offenders = {}
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in NOT_PRODUCT:
            continue
        if used := imported_top_level_modules(path) & modules:
            offenders[str(relative)] = sorted(used)

    assert not offenders, f"product code needs these in requirements/base.in: {offenders}"
