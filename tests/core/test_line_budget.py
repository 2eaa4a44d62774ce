"""Budgets of requests to LINE shared through Redis: a sliding window, closed for a while after a 429."""

import uuid

import pytest

from core.line.budget import RequestBudget, insight_budget
from core.redis import reset_redis

NOW = 1_750_000_000.0


@pytest.fixture
def budget():
    budget = RequestBudget(f"test-{uuid.uuid4().hex[:8]}", limit=3, window=3600.0)
    yield budget
    budget.reset()


def test_it_grants_the_limit_and_refuses_one_more(budget):
    grants = [budget.take(now=NOW + second).granted for second in range(4)]

    assert grants == [True, True, True, False]


def test_it_tells_how_long_until_the_oldest_request_leaves_the_window(budget):
    for second in range(3):
        budget.take(now=NOW + second)

    refused = budget.take(now=NOW + 600)

    assert (refused.granted, refused.wait) == (False, 3000.0)


def test_it_slides_the_window_rather_than_resetting_it_on_the_hour(budget):
    budget.take(now=NOW)
    budget.take(now=NOW + 1800)
    budget.take(now=NOW + 1800)

    assert budget.take(now=NOW + 3599).granted is False
    assert budget.take(now=NOW + 3600).granted is True
    assert budget.take(now=NOW + 3601).granted is False


def test_it_shares_the_same_budget_with_another_process(budget):
    for _ in range(3):
        budget.take(now=NOW)

    elsewhere = RequestBudget(budget.name, limit=3, window=3600.0)

    assert elsewhere.take(now=NOW + 1).granted is False


def test_it_closes_after_a_429_for_longer_each_time_in_a_row(budget):
    first = budget.back_off(now=NOW)
    closed = budget.take(now=NOW + first - 1)
    second = budget.back_off(now=NOW + first)

    assert (first, closed.granted, closed.wait, second) == (300.0, False, 1.0, 600.0)
    assert budget.take(now=NOW + first + second).granted is True


def test_it_starts_the_backoff_afresh_after_an_answer_without_429(budget):
    budget.back_off(now=NOW)
    budget.answered()

    assert budget.back_off(now=NOW + 400) == 300.0


def test_it_never_backs_off_longer_than_the_window(budget):
    waits = [budget.back_off(now=NOW) for _ in range(6)]

    assert waits[-1] == 3600.0


def test_it_grants_nothing_without_redis(settings):
    settings.REDIS_URL = None
    reset_redis()

    assert insight_budget().take(now=NOW).granted is False


def test_it_sets_the_insight_budget_to_lines_hourly_limit(settings):
    settings.LINE_INSIGHT_REQUESTS_PER_HOUR = 60

    budget = insight_budget()

    assert (budget.limit, budget.window) == (60, 3600.0)
