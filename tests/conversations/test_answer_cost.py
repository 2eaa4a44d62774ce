"""What answering an event costs the worker in SQL statements, and the user upsert behind it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from conversations.line_users import line_user_touch
from conversations.models import LineUser

from .events import text_event

pytestmark = pytest.mark.django_db

# Measured: 24 for a new user in the test database, savepoints and a cold settings cache included
# (docs/PERFORMANCE.md, "Hot paths"). It was 27 before the user upsert (25 after); then came the analytics
# event (a savepoint, the insert and its release) and the live chat's pause check (32 with the after-commit
# reads for watching consoles, which now happen only when a console watches the chat: 27); the claim
# returns the row it updates, and a conversation this event started has no context to read or rebuild (24);
# the lock and the claim are one statement, the takeover check rides on the user upsert, a user seen for the
# first time has no token use to add up and no conversation to look for, and the messages are one insert (19);
# the messages and the prepared reply are one statement, without a transaction (or savepoint) around them (16);
# the statement that records the answer as sent also releases the run's lock (15).
NEW_USER_STATEMENTS = 15


def test_it_answers_a_new_users_text_within_its_statement_budget(post_events, line, llm, django_assert_max_num_queries):
    with django_assert_max_num_queries(NEW_USER_STATEMENTS):
        assert post_events(text_event("hello there")).status_code == 200

    assert LineUser.objects.count() == 1


def test_it_plans_the_statements_every_answer_repeats_once(post_events, line, llm):
    for n in range(7):
        assert post_events(text_event("hello there", user_id=f"U{n:032x}")).status_code == 200

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    # psycopg prepares a statement on its sixth run in a session: the ack's insert and the stored answer.
    assert any(s.startswith('INSERT INTO "conversations_webhookevent"') for s in prepared), prepared
    assert any(s.startswith('WITH stored AS (INSERT INTO "conversations_message"') for s in prepared), prepared


def test_it_creates_a_user_on_first_sight():
    user, created = line_user_touch(line_user_id="U" + "1" * 32)

    assert created
    assert user.pk and user.first_seen_at == user.last_seen_at
    assert LineUser.objects.get(pk=user.pk).line_user_id == "U" + "1" * 32


def test_it_moves_last_seen_of_a_known_user_and_keeps_the_rest(django_assert_num_queries):
    first, _ = line_user_touch(line_user_id="U" + "2" * 32)
    LineUser.objects.filter(pk=first.pk).update(display_name="Somchai", last_seen_at=timezone.now() - timedelta(days=1))

    with django_assert_num_queries(1):
        again, created = line_user_touch(line_user_id="U" + "2" * 32)

    assert not created
    assert again.pk == first.pk and again.display_name == "Somchai"
    assert again.first_seen_at == first.first_seen_at
    assert again.last_seen_at > first.last_seen_at
    assert LineUser.objects.get(pk=first.pk).last_seen_at == again.last_seen_at


def test_it_lets_code_that_predates_the_chosen_language_insert_users():
    # A rolling deploy's old processes insert users without the column: the database's default fills it.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO conversations_lineuser (line_user_id, display_name, picture_url, status_message, language,"
            " status, first_seen_at, last_seen_at, tags, timezone) VALUES (%s, '', '', '', 'th', 'active', now(),"
            " now(), '[]', '')",
            ["U" + "3" * 32],
        )

    user, created = line_user_touch(line_user_id="U" + "3" * 32)
    assert not created and (user.language, user.language_chosen) == ("th", False)
