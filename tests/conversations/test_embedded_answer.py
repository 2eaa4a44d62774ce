"""A new user's text is answered on the embedded SQLite database, as on PostgreSQL, with every write it makes."""

from __future__ import annotations

import json

import pytest

from tests.embedded import run_on_embedded_sqlite

ANSWER_ON_SQLITE = """
import json, time, uuid
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
call_command("migrate", verbosity=0)
from analytics.models import Event
from conversations.models import Conversation, LineUser, Message, WebhookEvent
from conversations.processing import webhook_event_process
from conversations.services import webhook_events_store
from linesim.line.testing import running_line_double
from linesim.llm.testing import running_llm_double

with running_line_double(channel_secret="embedded-secret", access_token="embedded-token") as line, \\
        running_llm_double() as llm:
    settings.LINE_API_BASE_URL = settings.LINE_DATA_API_BASE_URL = line.base_url
    settings.LINE_CHANNEL_ACCESS_TOKEN = "embedded-token"
    settings.LLM_PROVIDER, settings.AZURE_OPENAI_ENDPOINT = "azure", llm.azure_endpoint
    settings.AZURE_OPENAI_API_KEY, settings.AZURE_OPENAI_DEPLOYMENT = llm.api_key, "gpt-4o-mini"
    user_id = "U" + "e" * 32
    line.control.add_user(user_id, "สมชาย", language="th")
    event = {
        "type": "message", "mode": "active", "timestamp": int(time.time() * 1000),
        "webhookEventId": "01EMBEDDED", "deliveryContext": {"isRedelivery": False},
        "replyToken": line.control.issue_reply_token(user_id), "source": {"type": "user", "userId": user_id},
        "message": {"id": "1", "type": "text", "quoteToken": "q", "text": "こんにちは"},
    }
    (stored,) = webhook_events_store(payload={"destination": "Ubot", "events": [event]}, correlation_id=None)
    status = webhook_event_process(event_id=stored.id)
    replies = line.control.requests(endpoint="replyMessage")
row = WebhookEvent.objects.get()
print(json.dumps({
    "status": status,
    "reply_state": row.reply_state,
    "replies": [r["status"] for r in replies],
    "user": list(LineUser.objects.values_list("display_name", "language")),
    "conversations": Conversation.objects.count(),
    "messages": list(Message.objects.order_by("id").values_list("role", "content"))[:1],
    "events": list(Event.objects.values_list("type", flat=True)),
}, ensure_ascii=False))
"""


@pytest.mark.integration
def test_it_answers_a_new_user_on_the_embedded_sqlite_database(tmp_path):
    result = run_on_embedded_sqlite(ANSWER_ON_SQLITE, tmp_path)

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.splitlines()[-1])
    assert (outcome["status"], outcome["reply_state"], outcome["replies"]) == ("replied", "sent", [200])
    assert outcome["user"] == [["สมชาย", "th"]]
    assert outcome["conversations"] == 1
    assert outcome["messages"] == [["user", "こんにちは"]]
    assert outcome["events"] == ["message"]
