"""The README's environment table and the compose file stay true to the code."""

import re
from pathlib import Path

import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def env_names_read_by_settings() -> set[str]:
    names = set()
    for path in (ROOT / "linebot_project" / "settings").glob("*.py"):
        names |= set(re.findall(r"env\.\w+\(\s*\"([A-Z][A-Z0-9_]+)\"", path.read_text()))
    return names


def test_it_documents_every_environment_variable_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", readme))

    missing = env_names_read_by_settings() - documented

    assert not missing, f"undocumented environment variables: {sorted(missing)}"


def test_it_documents_in_the_readme_every_variable_the_compose_stack_reads():
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", readme))
    read = set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", (ROOT / "docker" / "compose.yml").read_text()))

    assert read and not read - documented, f"undocumented compose variables: {sorted(read - documented)}"


def test_it_keeps_the_two_commands_at_the_top_of_the_readme():
    top = (ROOT / "README.md").read_text().split("## ")[0]

    assert "./scripts/run.sh" in top
    assert "./scripts/run_tests.sh all" in top


def test_it_has_every_process_and_service_in_the_compose_stack():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yml").read_text())

    assert {"web", "websocket", "worker", "beat", "postgres", "redis", "rabbitmq"} <= set(compose["services"])
    assert "linebot_project.wsgi:application" in compose["services"]["web"]["command"]
    assert "linebot_project.asgi:application" in compose["services"]["websocket"]["command"]
    assert compose["services"]["worker"]["command"][:3] == ["celery", "-A", "linebot_project"]


def test_it_runs_a_relay_for_the_outbox_and_persistent_sessions_only_where_threads_are_fixed():
    services = yaml.safe_load((ROOT / "docker" / "compose.yml").read_text())["services"]

    assert services["web"]["environment"]["CONVERSATION_DISPATCH"] == "outbox"
    assert services["relay"]["command"][-1] == "conversations_relay"
    assert services["web"]["environment"]["DJANGO_DB_CONNECTIONS"] == "persistent"
    # Under ASGI a request's sync code may run in a new thread: sessions per thread would pile up.
    assert "DJANGO_DB_CONNECTIONS" not in services["websocket"]["environment"]


def test_it_shares_the_stored_media_between_web_and_workers():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yml").read_text())

    for service in ("web", "websocket", "worker", "beat", "migrate"):
        assert "media:/app/var/media" in compose["services"][service]["volumes"], service
    assert "media" in compose["volumes"]
