"""Two live runners on one event, each on its own database connection, as two workers would be."""

import threading

import pytest
from django.db import connection

from conversations.models import WebhookEvent
from conversations.processing import EventBusyError, webhook_event_process
from conversations.services import webhook_event_store
from conversations.tasks import process_webhook_event
from tests.doubles import answer_to, delivered_texts
from tests.waiting import wait_for

from .events import USER

pytestmark = pytest.mark.django_db(transaction=True)


class Runner(threading.Thread):
    """Runs the event in a thread of its own, hence on a database connection of its own."""

    def __init__(self, run):
        super().__init__(daemon=True)
        self._run = run
        self.result = None
        self.error = None

    def run(self):
        try:
            self.result = self._run()
        except Exception as exc:  # handed to the test, which checks it
            self.error = exc
        finally:
            connection.close()


@pytest.fixture
def stalled_first_runner(events, line, llm, settings):
    """An event, and a first runner that holds it: the model has begun its answer and stalls until released."""
    settings.LLM_READ_TIMEOUT = 30.0
    settings.LLM_TOTAL_TIMEOUT = 30.0
    event_id = webhook_event_store(event=events.text("Who answers?"), destination="Ubot", correlation_id=None).id
    llm.control.add_fault("stall", count=1, hang_seconds=30)
    first = Runner(lambda: webhook_event_process(event_id=event_id))
    first.start()
    # Once the model has the request, the first runner is inside the event's lock.
    wait_for(lambda: len(llm.control.requests()) == 1)
    yield event_id, first
    llm.control.clear_faults()  # releases the stall, should a test have failed before doing so
    first.join(30)


def finish(first, llm):
    llm.control.clear_faults()  # the stalled answer goes on
    first.join(30)
    assert not first.is_alive()


def test_it_makes_a_second_runner_back_off_while_the_first_holds_the_event(stalled_first_runner, line, llm):
    event_id, first = stalled_first_runner
    second = Runner(lambda: webhook_event_process(event_id=event_id))
    second.start()
    second.join(10)
    assert isinstance(second.error, EventBusyError)

    finish(first, llm)
    assert (first.result, first.error) == (WebhookEvent.Status.REPLIED, None)
    assert [r["status"] for r in line.control.requests(endpoint="replyMessage")] == [200]
    assert line.control.requests(endpoint="pushMessage") == []
    assert delivered_texts(line, user_id=USER) == [answer_to("Who answers?")]
    assert len(llm.control.requests()) == 1
    assert WebhookEvent.objects.get(pk=event_id).attempts == 1


def test_it_reports_busy_from_a_task_that_finds_the_event_held(stalled_first_runner, line, llm):
    event_id, first = stalled_first_runner
    second = Runner(lambda: process_webhook_event.apply(args=[event_id]).get())
    second.start()
    second.join(10)
    assert (second.result, second.error) == ("busy", None)

    finish(first, llm)
    assert delivered_texts(line, user_id=USER) == [answer_to("Who answers?")]


def test_it_shows_a_later_runner_the_final_status_and_sends_nothing_more(stalled_first_runner, line, llm):
    event_id, first = stalled_first_runner
    finish(first, llm)
    calls = len(line.control.requests())

    late = Runner(lambda: webhook_event_process(event_id=event_id))
    late.start()
    late.join(10)

    assert (late.result, late.error) == (WebhookEvent.Status.REPLIED, None)
    assert len(line.control.requests()) == calls
    assert len(llm.control.requests()) == 1
    assert delivered_texts(line, user_id=USER) == [answer_to("Who answers?")]
