"""The answers worker as docker/compose.yml runs it: Celery's threads pool, with core.task_watchdog for a hard limit."""

import pytest

from conversations.models import WebhookEvent
from conversations.tasks import process_webhook_event
from tests.conversations.e2e.conftest import Worker, _delete_queue
from tests.conversations.e2e.test_end_to_end import APOLOGY, new_user, texts

pytestmark = pytest.mark.integration

TIME_LIMIT = 3


@pytest.fixture(scope="module")
def worker(worker_env, queue_name, tmp_path_factory):
    env = {
        **worker_env,
        # The model may take its time: only the task's own limit stops a run.
        "LLM_READ_TIMEOUT": "60",
        "LLM_TOTAL_TIMEOUT": "60",
        "CELERY_TASK_SOFT_TIME_LIMIT": str(TIME_LIMIT - 1),
        "CELERY_TASK_TIME_LIMIT": str(TIME_LIMIT),
        "WORKER_OVERRUN_GRACE_SECONDS": "1",
    }
    process = Worker(
        env, queue_name, tmp_path_factory.mktemp("worker") / "worker.log", pool=("--pool=threads", "--concurrency=8")
    )
    process.start()
    yield process
    process.stop()
    _delete_queue(queue_name)


def test_it_answers_events_side_by_side(bot):
    bot.llm.control.configure(latency_ms=1000)
    users = [new_user(bot) for _ in range(4)]
    for number, user in enumerate(users):
        bot.send(type="text", userId=user, text=f"Side by side {number}")
    assert [len(bot.wait_for_messages(user, timeout=20, settle=0)) for user in users] == [1, 1, 1, 1]
    received = sorted(request["received_at"] for request in bot.llm.control.requests())
    # Each waited a second for the model: one after another, the last would have come three seconds later.
    assert len(received) == 4 and received[-1] - received[0] < 1.0


def test_it_stops_a_worker_whose_task_outlives_its_limit_and_apologises_on_the_rerun(bot, settings, queue_name):
    settings.CONVERSATION_DISPATCH = "outbox"  # the web tier only stores; the task is published below
    bot.llm.control.configure(latency_ms=30_000)
    user = new_user(bot)
    bot.send(type="text", userId=user, text="Take your time")
    (event_id,) = WebhookEvent.objects.values_list("pk", flat=True)
    # The worker goes by the limit in the message, which the publisher writes.
    process_webhook_event.apply_async(args=[event_id], queue=queue_name, time_limit=TIME_LIMIT)
    # The watchdog notices within a second of the limit, waits out the grace, and the process exits.
    assert bot.worker.process.wait(timeout=TIME_LIMIT + 15) == 70
    assert bot.messages(user) == []
    log = bot.worker.log_path.read_text()
    assert "celery_task_overran_its_time_limit" in log and "celery_worker_exiting_after_an_overrun" in log

    bot.llm.control.configure(latency_ms=0)
    bot.worker.log_path.write_bytes(b"")
    bot.worker.start()  # as the supervisor's restart policy does

    messages = bot.wait_for_messages(user, timeout=30, settle=1.0)
    assert texts(messages) == [APOLOGY]
    (event,) = bot.wait_for_status()
    assert event.status == WebhookEvent.Status.REPLIED and event.attempts == 2
    assert "time limit" in event.error
    # The rerun did not ask the model again: what stopped the first run would have stopped it too.
    assert len(bot.llm.control.requests()) == 1
