"""An event whose run outlived its task's time limit (core.task_watchdog stopped the worker) is not tried again."""

from __future__ import annotations

import pytest

from conversations.models import WebhookEvent
from conversations.processing import _overran as overran_noted
from conversations.processing import webhook_event_process
from conversations.signals import line_event_handled
from conversations.tasks import process_webhook_event, process_webhook_events
from core.task_watchdog import TaskWatchdog, task_overran
from tests.doubles import answer_to, delivered_texts

from .events import USER

pytestmark = pytest.mark.django_db

APOLOGY = "Sorry, I can't answer right now. Please try again in a moment."


def claimed_by_a_run_that_stopped(event: WebhookEvent) -> None:
    """What a run leaves behind when its process goes while it waits for the model."""
    WebhookEvent.objects.filter(pk=event.pk).update(status=WebhookEvent.Status.PROCESSING, attempts=1)


def overran(task_name: str, args: tuple) -> None:
    """What the watchdog announces before it stops the worker."""
    task_overran.send_robust(sender=TaskWatchdog, task_name=task_name, task_id="t-1", args=args)


def test_it_apologises_instead_of_asking_the_model_again_after_an_overrun(stored, line, llm):
    (event,) = stored("Slow question")
    claimed_by_a_run_that_stopped(event)
    overran(process_webhook_event.name, (event.pk,))

    assert webhook_event_process(event_id=event.pk) == WebhookEvent.Status.REPLIED
    assert delivered_texts(line, user_id=USER) == [APOLOGY]
    assert llm.control.requests() == []
    event.refresh_from_db()
    assert event.attempts == 2 and "time limit" in event.error


def test_it_answers_a_rerun_after_a_crash_that_was_no_overrun(stored, line, llm):
    (event,) = stored("Crashed once")
    claimed_by_a_run_that_stopped(event)

    assert webhook_event_process(event_id=event.pk) == WebhookEvent.Status.REPLIED
    assert delivered_texts(line, user_id=USER) == [answer_to("Crashed once")]


def test_it_answers_the_events_of_an_overrun_pack_its_run_had_not_reached(stored, line, llm):
    first, second = stored("Stuck in a pack", "Waiting in the pack")
    claimed_by_a_run_that_stopped(first)
    overran(process_webhook_events.name, ([first.pk, second.pk],))

    assert process_webhook_events.apply(args=[[first.pk, second.pk]]).get() == ["replied", "replied"]
    assert delivered_texts(line, user_id=USER) == [APOLOGY, answer_to("Waiting in the pack")]
    assert len(llm.control.requests()) == 1


def test_it_ignores_the_overruns_of_other_tasks(stored, line, llm):
    (event,) = stored("Not mine")
    claimed_by_a_run_that_stopped(event)
    overran("analytics.tasks.update_rollups", (event.pk,))

    webhook_event_process(event_id=event.pk)
    assert delivered_texts(line, user_id=USER) == [answer_to("Not mine")]


def test_it_notes_only_the_event_a_pack_was_answering_when_it_overran(stored, line, llm):
    first, second, third = stored("Answered before", "Under way", "Not reached")
    pack = [first.pk, second.pk, third.pk]
    handled = []

    def watchdog_fires_on_the_second(**kwargs):
        handled.append(kwargs["event_type"])
        if len(handled) == 2:
            task_overran.send_robust(
                sender=TaskWatchdog, task_name=process_webhook_events.name, task_id="pack-1", args=(pack,)
            )

    line_event_handled.connect(watchdog_fires_on_the_second, weak=False)
    try:
        process_webhook_events.apply(args=[pack], task_id="pack-1").get()
    finally:
        line_event_handled.disconnect(watchdog_fires_on_the_second)

    assert [overran_noted(pk) for pk in pack] == [False, True, False]
