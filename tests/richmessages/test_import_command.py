import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent
from richmessages.models import RichTemplate, RichTemplateVersion
from tests.richmessages.conftest import image_bytes, stored_files

pytestmark = pytest.mark.django_db


def _entry(**overrides):
    entry = {
        "theme": "inspiration",
        "mood": "creative",
        "energy_level": "medium",
        "best_for": ["creativity", "skill_development"],
        "time_of_day": ["afternoon", "evening"],
        "content_type": ["motivational_quotes"],
        "text_areas": {
            "primary": {"x": 20, "y": 15, "width": 500, "height": 100},
            "secondary": {"x": 30, "y": 250, "width": 500, "height": 80},
        },
    }
    entry.update(overrides)
    return entry


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "backgrounds"
    root.mkdir()
    (root / "inspiration_cardistry_01.png").write_bytes(image_bytes(size=(640, 400)))
    (root / "motivation_lion_01.jpg").write_bytes(image_bytes("JPEG", size=(640, 400), color=(200, 10, 10)))
    (root / "wellness_cats_01.png").write_bytes(image_bytes(size=(640, 400), color=(5, 5, 5)))
    (root / "stray.png").write_bytes(image_bytes(color=(7, 7, 7)))
    metadata = {
        "template_metadata": {
            "inspiration_cardistry_01.png": _entry(),
            "motivation_lion_01.jpg": _entry(theme="motivation"),
            "nature_landscape_01.png": _entry(theme="nature"),
            "wellness_cats_01.png": _entry(text_areas={"primary": {"x": 20, "y": 15, "width": 5000, "height": 100}}),
            "../outside.png": _entry(),
        },
        "theme_summary": {"inspiration": {"count": 1}},
    }
    (root / "metadata.json").write_text(json.dumps(metadata))
    return root


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("import_rich_templates", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_imports_each_described_image_as_a_draft_and_reports_the_rest(folder, editor, media_root):
    out, err = run(str(folder), "--as", "editor")

    assert set(RichTemplate.objects.values_list("slug", flat=True)) == {
        "inspiration_cardistry_01",
        "motivation_lion_01",
    }
    version = RichTemplateVersion.objects.get(template__slug="inspiration_cardistry_01")
    assert (version.status, version.author, version.theme) == ("draft", editor, "inspiration")
    assert version.times_of_day == ["afternoon", "evening"]
    assert (version.title_area["y"], version.body_area["y"]) == (15, 250)
    assert version.title_area["font_max"] <= 100
    assert RichTemplate.objects.get(slug="motivation_lion_01").name == "Motivation lion 01"
    assert "missing   nature_landscape_01.png: no such file in the folder" in err
    assert "invalid   wellness_cats_01.png: title_area:" in err
    assert "invalid   ../outside.png" in err
    assert "ignored   stray.png" in out
    assert out.splitlines()[-1] == "Imported 2, skipped 0 already imported, 1 missing file(s), 2 invalid entries."
    assert len(stored_files(media_root)) == 2
    assert AuditEvent.objects.filter(action=AuditEvent.Action.RICH_TEMPLATE_CREATED).count() == 2


def test_it_imports_nothing_twice_when_run_again(folder, editor):
    run(str(folder), "--as", "editor")
    RichTemplate.objects.filter(slug="motivation_lion_01").update(slug="renamed-lion")

    out, _ = run(str(folder), "--as", "editor")

    assert RichTemplate.objects.count() == 2
    assert "skipped   inspiration_cardistry_01.png: already imported as inspiration_cardistry_01" in out
    assert "skipped   motivation_lion_01.jpg: same image as template renamed-lion" in out
    assert out.splitlines()[-1].startswith("Imported 0, skipped 2")


def test_it_reads_the_upstream_metadata_file_as_published(tmp_path, editor):
    # Entries copied from the upstream bot's templates/rich_messages/metadata.json; their files do not exist.
    upstream = {
        "template_metadata": {
            "inspiration_gameboy_01.png": _entry(),
            "motivation_gorilla_01.png": _entry(),
        },
        "theme_summary": {},
        "content_scheduling_recommendations": {"monday": ["motivation"]},
    }
    (tmp_path / "metadata.json").write_text(json.dumps(upstream))

    out, err = run(str(tmp_path), "--as", "editor")

    assert err.count("missing") == 2
    assert out.splitlines()[-1] == "Imported 0, skipped 0 already imported, 2 missing file(s), 0 invalid entries."


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "metadata.json not found"),
        ("{not json", "not valid JSON"),
        ('{"templates": {}}', '"template_metadata"'),
        ('{"template_metadata": []}', '"template_metadata"'),
    ],
)
def test_it_stops_with_a_clear_message_on_a_bad_metadata_file(tmp_path, editor, content, words):
    if content is not None:
        (tmp_path / "metadata.json").write_text(content)

    with pytest.raises(CommandError, match=words):
        run(str(tmp_path), "--as", "editor")


def test_it_reports_a_bad_entry_and_does_not_import_it(tmp_path, editor):
    (tmp_path / "a.png").write_bytes(image_bytes())
    (tmp_path / "b.png").write_bytes(image_bytes(color=(1, 2, 3)))
    (tmp_path / "metadata.json").write_text(
        json.dumps({"template_metadata": {"a.png": "not an object", "b.png": _entry(colour="red")}})
    )

    _, err = run(str(tmp_path), "--as", "editor")

    assert "invalid   a.png: entry: must be an object" in err
    assert "invalid   b.png: entry: unknown key(s): colour" in err
    assert not RichTemplate.objects.exists()


def test_it_needs_a_folder_and_an_author_who_may_create_templates(tmp_path, operator):
    with pytest.raises(CommandError, match="is not a folder"):
        run(str(tmp_path / "nowhere"), "--as", "operator")
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        run(str(tmp_path), "--as", "ghost")
    with pytest.raises(CommandError, match="may not create rich templates"):
        run(str(tmp_path), "--as", "operator")
