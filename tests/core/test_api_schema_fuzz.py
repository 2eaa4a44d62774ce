"""Every operation /api/v1/schema/ describes, fuzzed with schemathesis over HTTP against a live server, with
valid and with invalid input: no 5xx, every response as the schema says (status, content type, headers, body),
invalid input refused, and no operation that ignores its authentication. The operations come from the served
schema, so an endpoint added later is fuzzed with no extra work.

Written against schemathesis 4.32.5. Its lazy pytest loader (``schemathesis.pytest.from_fixture``) reads
``Node._nodeid``, which pytest 9 no longer has, so the test draws cases from each operation's strategy itself.
"""

import os

import pytest
import schemathesis
from django.contrib.auth.models import Group
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.specs.openapi.checks import positive_data_acceptance

from accounts import api_keys, roles

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA_PATH = "/api/v1/schema/"
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
FUZZ = settings(
    max_examples=int(os.environ.get("API_FUZZ_EXAMPLES", "20")),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
# "Every schema-valid request is accepted" cannot hold here: some rules are not the schema's to state (a LINE text
# is counted in UTF-16 units, DRF refuses NUL characters in any text field, credentials are checked).
EXCLUDED_CHECKS = [positive_data_acceptance]


@pytest.fixture
def api_key(django_user_model, line):
    """An Administrator's API key holding every scope; LINE calls (test messages) go to the LINE double."""
    user = django_user_model.objects.create_user("fuzzer", password="a-long-password-123", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.ADMINISTRATOR))
    return api_keys.api_key_create(user=user, name="fuzzing", scopes=sorted(api_keys.SCOPES)).plaintext


# The operations are shared out among this many tests, which parallel test processes can run side by side
# (in one test the fuzzing took four minutes, at the end of a run that had nothing else left to do).
SHARDS = 4


@pytest.mark.parametrize("shard", range(SHARDS))
def test_it_answers_every_operation_as_its_schema_says(shard, live_server, api_key, subtests):
    auth = {"Authorization": f"Api-Key {api_key}"}
    schema = schemathesis.openapi.from_url(live_server.url + SCHEMA_PATH, headers=auth, timeout=30)
    operations = list(schema.get_all_operations())
    assert len(operations) > SHARDS
    for result in operations[shard::SHARDS]:
        operation = result.ok()  # raises for an operation the schema describes wrongly
        for mode in MODES:
            with subtests.test(msg=f"{operation.label} ({mode.value} input)"):

                @FUZZ
                @given(case=operation.as_strategy(generation_mode=mode))
                def fuzz(case):
                    case.call_and_validate(
                        base_url=live_server.url, headers=auth, excluded_checks=EXCLUDED_CHECKS, timeout=30
                    )

                try:
                    fuzz()
                except Unsatisfiable:
                    # An operation without parameters or body has no invalid input to make.
                    if mode is not schemathesis.GenerationMode.NEGATIVE:
                        raise
