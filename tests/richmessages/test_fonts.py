"""Fonts of rich-message images: found by configuration, picked per character, and drawing real glyphs."""

from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw

from core.errors import ConfigurationError
from richmessages import checks, fonts
from richmessages.script import CJK, LATIN, THAI

# A sentence per writing system, each character drawn with that system's font.
SAMPLES = {
    THAI: "สวัสดีครับ ยินดีต้อนรับ",
    "japanese": "こんにちは、世界。カタカナ",
    "chinese": "你好世界，欢迎光临",
    LATIN: "Hello World, Ça va?",
}
FONT_OF_SAMPLE = {THAI: THAI, "japanese": CJK, "chinese": CJK, LATIN: LATIN}
SIZE = 48


@pytest.fixture(autouse=True)
def _fresh_fonts():
    fonts.reset()
    yield
    fonts.reset()


def glyph(font, char: str) -> Image.Image:
    """The glyph of ``char`` drawn alone, black on white, cropped to its ink."""
    image = Image.new("L", (SIZE * 2, SIZE * 2), 0)
    ImageDraw.Draw(image).text((SIZE // 2, SIZE + SIZE // 2), char, font=font, fill=255, anchor="ls")
    box = image.getbbox()
    return image.crop(box) if box else image.crop((0, 0, 0, 0))


def test_it_finds_each_configured_family_through_fontconfig():
    resolved = fonts.font_set().fonts

    assert {script: font.family for script, font in resolved.items()} == {
        LATIN: "Noto Sans",
        THAI: "Noto Sans Thai",
        CJK: "Noto Sans CJK JP",
    }
    for font in resolved.values():
        assert Path(font.path).is_file()
        assert font.setting == fonts.SETTINGS[font.script]


def test_it_writes_no_font_path_into_the_code():
    sources = Path(fonts.__file__).parent.glob("*.py")

    assert not [path.name for path in sources if "/usr/share/fonts" in path.read_text() or ".ttf" in path.read_text()]


@pytest.mark.parametrize("sample", SAMPLES)
def test_it_draws_every_character_of_each_script_with_that_scripts_font(sample):
    text = SAMPLES[sample]

    runs = fonts.font_set().runs(text)

    assert [script for script, _ in runs] == [FONT_OF_SAMPLE[sample]]
    assert "".join(run for _, run in runs) == text


@pytest.mark.parametrize("sample", SAMPLES)
def test_it_has_every_code_point_of_each_scripts_sample_in_its_font(sample):
    # Read from the font file itself with fontTools, independently of fontconfig's character set.
    font = fonts.font_set().fonts[FONT_OF_SAMPLE[sample]]
    cmap = TTFont(font.path, fontNumber=font.index, lazy=True).getBestCmap()

    missing = [char for char in SAMPLES[sample] if char != " " and ord(char) not in cmap]

    assert missing == []


@pytest.mark.parametrize("sample", SAMPLES)
def test_it_draws_real_glyphs_for_each_script_not_empty_boxes(sample):
    font_set = fonts.font_set()
    font = font_set.font(FONT_OF_SAMPLE[sample], SIZE)
    # U+FFFF is never in a font: what the font draws for a character it lacks (.notdef, an empty box).
    missing_glyph = glyph(font, "\uffff")
    letters = sorted({char for char in SAMPLES[sample] if char.isalpha()})

    drawn = {char: glyph(font, char) for char in letters}

    assert all(image.getbbox() for image in drawn.values())
    assert [char for char, image in drawn.items() if image.tobytes() == missing_glyph.tobytes()] == []
    # Different letters have different shapes; a font without them would draw the same box for each.
    assert len({(image.size, image.tobytes()) for image in drawn.values()}) == len(letters)


@pytest.mark.parametrize("sample", [THAI, "japanese", "chinese"])
def test_it_catches_a_font_without_the_script_in_the_glyph_check(sample):
    # The control of the test above: with the Latin font, every letter of these scripts is the same box.
    font = fonts.font_set().font(LATIN, SIZE)
    missing_glyph = glyph(font, "\uffff")

    drawn = {glyph(font, char).tobytes() for char in SAMPLES[sample] if char.isalpha()}

    assert drawn == {missing_glyph.tobytes()}


def test_it_picks_the_font_per_character_in_mixed_text():
    runs = fonts.font_set().runs("สวัสดี Hello 你好")

    assert runs == ((THAI, "สวัสดี "), (LATIN, "Hello "), (CJK, "你好"))


def test_it_keeps_digits_and_punctuation_in_the_font_around_them():
    runs = fonts.font_set().runs("ราคา 100 บาท! 「東京」2024年")

    # The Thai font has no digits or "!", so they come from the Latin font; CJK brackets and digits from CJK.
    assert runs == ((THAI, "ราคา "), (LATIN, "100 "), (THAI, "บาท"), (LATIN, "! "), (CJK, "「東京」2024年"))


def test_it_leaves_out_characters_no_font_has(caplog):
    runs = fonts.font_set().runs("Hi 😀 there")

    assert "".join(text for _, text in runs) == "Hi  there"
    assert "U+1F600" in caplog.text


@override_settings(RICHMESSAGES_FONT_THAI="No Such Family:bold")
def test_it_names_the_setting_of_a_family_that_is_not_installed():
    with pytest.raises(ConfigurationError) as raised:
        fonts.font_set()

    assert "RICHMESSAGES_FONT_THAI='No Such Family:bold'" in raised.value.message
    assert "not installed" in raised.value.message


@override_settings(RICHMESSAGES_FONT_LATIN="  ")
def test_it_refuses_an_empty_font_setting():
    with pytest.raises(ConfigurationError, match="RICHMESSAGES_FONT_LATIN must name a font family"):
        fonts.font_set()


def test_it_looks_only_in_the_font_dirs_when_they_are_set(tmp_path):
    for font in fonts.font_set().fonts.values():
        (tmp_path / f"{font.script}-{Path(font.path).name}").symlink_to(font.path)

    with override_settings(RICHMESSAGES_FONT_DIRS=[str(tmp_path)]):
        resolved = fonts.font_set().fonts

    assert {Path(font.path).parent for font in resolved.values()} == {tmp_path}
    assert resolved[CJK].family == "Noto Sans CJK JP"


def test_it_names_the_font_dirs_when_a_family_is_not_in_them(tmp_path):
    thai = fonts.font_set().fonts[THAI]
    (tmp_path / Path(thai.path).name).symlink_to(thai.path)

    with override_settings(RICHMESSAGES_FONT_DIRS=[str(tmp_path)]), pytest.raises(ConfigurationError) as raised:
        fonts.font_set()

    assert "RICHMESSAGES_FONT_LATIN" in raised.value.message
    assert "RICHMESSAGES_FONT_DIRS" in raised.value.message


@override_settings(RICHMESSAGES_FONT_DIRS=["/nonexistent/fonts"])
def test_it_refuses_a_font_dir_that_does_not_exist():
    with pytest.raises(ConfigurationError, match="/nonexistent/fonts"):
        fonts.font_set()


def test_it_resolves_the_fonts_once_per_process(monkeypatch):
    fonts.font_set()
    monkeypatch.setattr(fonts.subprocess, "run", lambda *args, **kwargs: pytest.fail("fc-match ran again"))

    assert fonts.font_set() is fonts.font_set()


def test_it_stays_silent_in_the_system_check_when_the_fonts_are_installed():
    assert checks.check_fonts() == []


@override_settings(RICHMESSAGES_FONT_CJK="No Such CJK Family")
def test_it_warns_about_a_missing_font_in_the_system_check():
    warnings = checks.check_fonts()

    assert [warning.id for warning in warnings] == ["richmessages.W001"]
    assert "RICHMESSAGES_FONT_CJK" in warnings[0].msg


def test_it_defaults_the_settings_to_the_fonts_the_setup_installs():
    installed = Path(settings.BASE_DIR, "scripts", "lib", "fonts.sh").read_text()

    for setting in fonts.SETTINGS.values():
        family = getattr(settings, setting).split(":")[0]
        assert f'"{family}"' in installed
