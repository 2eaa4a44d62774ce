"""The bundled copy of LINE's specs is the team's shared copy, byte for byte."""

import pytest

from linesim.line.spec import BUNDLED_SPEC_DIR, SHARED_SPEC_DIR, default_spec_dir

SPECS = ["messaging-api.yml", "insight.yml", "manage-audience.yml", "webhook.yml", "channel-access-token.yml"]


@pytest.mark.parametrize("name", SPECS)
def test_it_bundles_the_same_spec_as_the_shared_one(name):
    assert (SHARED_SPEC_DIR / name).is_file(), "shared/line-openapi is expected beside the repository"

    assert (BUNDLED_SPEC_DIR / name).read_bytes() == (SHARED_SPEC_DIR / name).read_bytes()


def test_it_prefers_the_shared_specs_when_present():
    assert default_spec_dir() == SHARED_SPEC_DIR
