import pytest

from conversations.context import Context, Turn, context_append, context_clear, context_load
from core.llm.tokens import estimate_tokens
from core.memory import get_memory_monitor
from core.redis import get_redis, reset_redis


def test_it_trims_the_oldest_turns_and_keeps_their_gist():
    turns = [Turn("user", f"question {i} " + "x" * 40) for i in range(10)]
    trimmed = Context(turns=turns).trimmed(100)
    assert trimmed.tokens <= 100
    assert trimmed.turns[-1].content.startswith("question 9")
    assert trimmed.summary.startswith("question ")
    assert len(trimmed.turns) < 10


def test_it_counts_cjk_characters_as_tokens():
    assert estimate_tokens("hello world!") == 3
    assert estimate_tokens("こんにちは") == 5
    assert estimate_tokens("hello world, こんにちは") == 3 + 5
    assert estimate_tokens("") == 0


@pytest.mark.django_db
def test_it_keeps_the_context_in_redis(settings):
    context_clear(424242)
    context_append(424242, [Turn("user", "hi"), Turn("assistant", "hello")])
    assert get_redis().client.get(get_redis().key("conv:ctx:424242"))
    assert [t.content for t in context_load(424242).turns] == ["hi", "hello"]
    context_clear(424242)


@pytest.mark.django_db
def test_it_keeps_the_context_in_memory_while_redis_is_down_and_prunes_it_under_pressure(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    reset_redis()
    manager = get_redis()
    for conversation_id in range(1, 11):
        context_append(conversation_id, [Turn("user", f"hi {conversation_id}")])
    assert manager.using_fallback
    assert context_load(7).turns[0].content == "hi 7"
    stored = sum(1 for i in range(1, 11) if manager.fallback.get(manager.key(f"conv:ctx:{i}")) is not None)
    assert stored == 10

    monitor = get_memory_monitor()
    original = monitor._read_percent
    monitor._read_percent = lambda: 99.0
    try:
        monitor.check()
    finally:
        monitor._read_percent = original
        monitor.check()
    remaining = sum(1 for i in range(1, 11) if manager.fallback.get(manager.key(f"conv:ctx:{i}")) is not None)
    assert remaining < 10
